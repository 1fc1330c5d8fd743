import { createJsonClient } from '@eshop/http';
import type { Delivery, DeliveryRequest } from './api';

export type { Delivery, DeliveryRequest } from './api';

export function createDeliveryClient(baseUrl: string) {
  const http = createJsonClient('delivery', baseUrl);
  return {
    arrange: (request: DeliveryRequest) => http.post<Delivery>('/arrangeDelivery', request),
  };
}

export type DeliveryClient = ReturnType<typeof createDeliveryClient>;
