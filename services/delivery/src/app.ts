import { orderIdSchema } from '@eshop/events';
import { createServiceApp, HttpError, validateBody, validateParam } from '@eshop/http';
import { Router } from 'express';
import {
  cancelDeliveryRequestSchema,
  deliveryRequestSchema,
  type CancelDeliveryRequest,
  type DeliveryRequest,
} from './api';
import type { Schedule } from './schedule';

/** `details`: facts for `/healthz` and `/readyz`, such as the consumer group's lag; readiness never waits on them. */
export function createApp(schedule: Schedule, details?: () => Record<string, unknown>) {
  const routes = Router();
  routes.post('/arrangeDelivery', validateBody(deliveryRequestSchema), async (req, res) => {
    res.status(201).json(await schedule.arrangeDelivery(req.body as DeliveryRequest));
  });
  routes.post('/cancelDelivery', validateBody(cancelDeliveryRequestSchema), (req, res) => {
    res.json(schedule.cancelDelivery((req.body as CancelDeliveryRequest).orderId));
  });
  routes.get('/deliveries/:orderId', (req, res) => {
    const delivery = schedule.find(validateParam(orderIdSchema, req, 'orderId'));
    if (!delivery) throw new HttpError(404, 'Not found', { detail: 'no delivery for this order' });
    res.json(delivery);
  });
  return createServiceApp({ routes, details });
}
