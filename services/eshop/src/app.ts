import { createServiceApp, validateBody } from '@eshop/http';
import { Router } from 'express';
import { DEMO_ORDER, orderSchema, type Order } from './api';
import type { Checkout } from './checkout';

export function createApp(checkout: Checkout, isReady: () => Promise<boolean>) {
  const routes = Router();
  routes.post('/checkout', validateBody(orderSchema), async (req, res) => {
    res.status(201).json(await checkout.place(req.body as Order));
  });
  routes.get('/checkout', async (_req, res) => {
    res.json(await checkout.place(DEMO_ORDER));
  });
  return createServiceApp({ routes, isReady });
}
