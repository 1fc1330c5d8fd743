import { createJsonClient, type JsonClientOptions } from '@eshop/http';
import type { CatalogEntry, CreateOrderRequest, Release, Reservation } from './api';

export type { CatalogEntry, CreateOrderRequest, Release, Reservation } from './api';

/** Inventory's calls; those that change stock carry the order id as idempotency key, so they may be retried. */
export function createInventoryClient(baseUrl: string, options?: JsonClientOptions) {
  const http = createJsonClient('inventory', baseUrl, options);
  return {
    createOrder: (request: CreateOrderRequest) => http.post<Reservation>('/createOrder', request, { idempotent: true }),
    releaseOrder: (orderId: string) => http.post<Release>('/releaseOrder', { orderId }, { idempotent: true }),
    catalog: () => http.get<CatalogEntry[]>('/catalog'),
  };
}

export type InventoryClient = ReturnType<typeof createInventoryClient>;
