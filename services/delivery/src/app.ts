import { createServiceApp, validateBody } from '@eshop/http';
import { Router } from 'express';
import {
  cancelDeliveryRequestSchema,
  deliveryRequestSchema,
  type CancelDeliveryRequest,
  type DeliveryRequest,
} from './api';
import type { Schedule } from './schedule';

export function createApp(schedule: Schedule) {
  const routes = Router();
  routes.post('/arrangeDelivery', validateBody(deliveryRequestSchema), async (req, res) => {
    res.status(201).json(await schedule.arrangeDelivery(req.body as DeliveryRequest));
  });
  routes.post('/cancelDelivery', validateBody(cancelDeliveryRequestSchema), (req, res) => {
    res.json(schedule.cancelDelivery((req.body as CancelDeliveryRequest).orderId));
  });
  return createServiceApp({ routes });
}
