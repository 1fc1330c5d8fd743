import { createJsonClient, type JsonClientOptions } from '@eshop/http';
import type { Cancellation, Delivery, DeliveryRequest } from './api';

export type { Cancellation, Delivery, DeliveryRequest } from './api';

/** Delivery's calls, each with the order id as idempotency key, so they may be retried. */
export function createDeliveryClient(baseUrl: string, options?: JsonClientOptions) {
  const http = createJsonClient('delivery', baseUrl, options);
  return {
    arrangeDelivery: (request: DeliveryRequest) =>
      http.post<Delivery>('/arrangeDelivery', request, { idempotent: true }),
    cancelDelivery: (orderId: string) => http.post<Cancellation>('/cancelDelivery', { orderId }, { idempotent: true }),
    getDelivery: (orderId: string) => http.get<Delivery>(`/deliveries/${encodeURIComponent(orderId)}`),
  };
}

export type DeliveryClient = ReturnType<typeof createDeliveryClient>;
