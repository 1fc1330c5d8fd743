import { createJsonClient } from '@eshop/http';
import type { Order, PlacedOrder } from './api';

export type { Order, PlacedOrder } from './api';

export function createEshopClient(baseUrl: string) {
  const http = createJsonClient('eshop', baseUrl, 30_000);
  return {
    checkout: (order: Order) => http.post<PlacedOrder>('/checkout', order),
  };
}

export type EshopClient = ReturnType<typeof createEshopClient>;
