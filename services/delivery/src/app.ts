import { noFault, type FaultSwitch } from '@eshop/faults';
import { createServiceApp, validateBody } from '@eshop/http';
import { Router } from 'express';
import {
  cancelDeliveryRequestSchema,
  deliveryRequestSchema,
  type CancelDeliveryRequest,
  type DeliveryRequest,
} from './api';
import type { Schedule } from './schedule';

export function createApp(schedule: Schedule, slow: FaultSwitch = noFault('delivery-slow')) {
  const routes = Router();
  routes.post('/arrangeDelivery', validateBody(deliveryRequestSchema), async (req, res) => {
    // Before the work, as a slow dependency would be: a caller that gave up has cancelled by the time it is done.
    await slow.delay();
    res.status(201).json(schedule.arrange(req.body as DeliveryRequest));
  });
  routes.post('/cancelDelivery', validateBody(cancelDeliveryRequestSchema), (req, res) => {
    res.json(schedule.cancel((req.body as CancelDeliveryRequest).orderId));
  });
  return createServiceApp({ routes });
}
