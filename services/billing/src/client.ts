import { createJsonClient, type JsonClientOptions } from '@eshop/http';
import type { Payment, PaymentRequest, Refund } from './api';

export type { Payment, PaymentRequest, Refund } from './api';

/**
 * Billing's calls. Both are idempotent: billing answers a repeat for an order with its first answer, so a retry
 * cannot charge twice.
 */
export function createBillingClient(baseUrl: string, options?: JsonClientOptions) {
  const http = createJsonClient('billing', baseUrl, options);
  return {
    charge: (request: PaymentRequest) => http.post<Payment>('/payment', request, { idempotent: true }),
    refund: (orderId: string) => http.post<Refund>('/refund', { orderId }, { idempotent: true }),
    getPayment: (orderId: string) => http.get<Payment>(`/payment/${encodeURIComponent(orderId)}`),
  };
}

export type BillingClient = ReturnType<typeof createBillingClient>;
