import { createServiceApp, validateBody } from '@eshop/http';
import { Router } from 'express';
import { paymentRequestSchema, type PaymentRequest } from './api';
import type { Payments } from './payments';

export function createApp(payments: Payments) {
  const routes = Router();
  routes.post('/payment', validateBody(paymentRequestSchema), (req, res) => {
    res.status(201).json(payments.charge(req.body as PaymentRequest));
  });
  return createServiceApp({ routes });
}
