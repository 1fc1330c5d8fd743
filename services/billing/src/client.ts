import { createJsonClient } from '@eshop/http';
import type { Payment, PaymentRequest } from './api';

export type { Payment, PaymentRequest } from './api';

export function createBillingClient(baseUrl: string) {
  const http = createJsonClient('billing', baseUrl);
  return {
    charge: (request: PaymentRequest) => http.post<Payment>('/payment', request),
  };
}

export type BillingClient = ReturnType<typeof createBillingClient>;
