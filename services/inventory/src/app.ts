import { createServiceApp, validateBody } from '@eshop/http';
import { Router } from 'express';
import {
  createOrderRequestSchema,
  releaseOrderRequestSchema,
  type CreateOrderRequest,
  type ReleaseOrderRequest,
} from './api';
import type { Stock } from './stock';

export function createApp(stock: Stock) {
  const routes = Router();
  routes.post('/createOrder', validateBody(createOrderRequestSchema), (req, res) => {
    const { orderId, items } = req.body as CreateOrderRequest;
    res.status(201).json(stock.createOrder(orderId, items));
  });
  routes.post('/releaseOrder', validateBody(releaseOrderRequestSchema), (req, res) => {
    res.json(stock.releaseOrder((req.body as ReleaseOrderRequest).orderId));
  });
  routes.get('/catalog', (_req, res) => {
    res.json(stock.catalog());
  });
  return createServiceApp({ routes });
}
