import { createServiceApp, validateBody } from '@eshop/http';
import { Router } from 'express';
import { deliveryRequestSchema, type DeliveryRequest } from './api';
import type { Schedule } from './schedule';

export function createApp(schedule: Schedule) {
  const routes = Router();
  routes.post('/arrangeDelivery', validateBody(deliveryRequestSchema), (req, res) => {
    res.status(201).json(schedule.arrange(req.body as DeliveryRequest));
  });
  return createServiceApp({ routes });
}
