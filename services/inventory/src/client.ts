import { createJsonClient } from '@eshop/http';
import type { CatalogEntry, CreateOrderRequest, Reservation } from './api';

export type { CatalogEntry, CreateOrderRequest, Reservation } from './api';

export function createInventoryClient(baseUrl: string) {
  const http = createJsonClient('inventory', baseUrl);
  return {
    createOrder: (request: CreateOrderRequest) => http.post<Reservation>('/createOrder', request),
    catalog: () => http.get<CatalogEntry[]>('/catalog'),
  };
}

export type InventoryClient = ReturnType<typeof createInventoryClient>;
