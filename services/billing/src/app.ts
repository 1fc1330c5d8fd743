import { orderIdSchema } from '@eshop/events';
import { createServiceApp, HttpError, validateBody, validateParam } from '@eshop/http';
import { Router } from 'express';
import { paymentRequestSchema, refundRequestSchema, type PaymentRequest, type RefundRequest } from './api';
import type { Payments } from './payments';

export function createApp(payments: Payments) {
  const routes = Router();
  routes.post('/payment', validateBody(paymentRequestSchema), (req, res) => {
    res.status(201).json(payments.charge(req.body as PaymentRequest));
  });
  routes.post('/refund', validateBody(refundRequestSchema), (req, res) => {
    res.json(payments.refund((req.body as RefundRequest).orderId));
  });
  routes.get('/payment/:orderId', (req, res) => {
    const payment = payments.find(validateParam(orderIdSchema, req, 'orderId'));
    if (!payment) throw new HttpError(404, 'Not found', { detail: 'no payment for this order' });
    res.json(payment);
  });
  return createServiceApp({ routes });
}
