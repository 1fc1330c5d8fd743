import { createJsonClient, type JsonClientOptions } from '@eshop/http';
import type { Payment, PaymentRequest, Refund } from './api';

export type { Payment, PaymentRequest, Refund } from './api';

/** Billing's calls; those that move money carry the order id as idempotency key, so a retry cannot charge twice. */
export function createBillingClient(baseUrl: string, options?: JsonClientOptions) {
  const http = createJsonClient('billing', baseUrl, options);
  return {
    charge: (request: PaymentRequest) => http.post<Payment>('/payment', request, { idempotencyKey: request.orderId }),
    refund: (orderId: string) => http.post<Refund>('/refund', { orderId }, { idempotencyKey: orderId }),
  };
}

export type BillingClient = ReturnType<typeof createBillingClient>;
