import { orderIdSchema, orderItemSchema } from '@eshop/events';
import { z } from 'zod';

export const createOrderRequestSchema = z.object({
  orderId: orderIdSchema,
  items: z.array(orderItemSchema).min(1).max(50),
});

export type CreateOrderRequest = z.infer<typeof createOrderRequestSchema>;

/** Undoes a reservation: its units go back into stock. */
export const releaseOrderRequestSchema = z.object({ orderId: orderIdSchema });

export type ReleaseOrderRequest = z.infer<typeof releaseOrderRequestSchema>;

export interface ReservedItem {
  sku: string;
  quantity: number;
  unitPrice: number;
}

export interface Reservation {
  reservationId: string;
  orderId: string;
  items: ReservedItem[];
  total: number;
  currency: string;
}

export interface Release {
  orderId: string;
  /** `nothing-reserved`: the order had no reservation; none will be made for it from now on. */
  status: 'released' | 'nothing-reserved';
}

export interface CatalogEntry {
  sku: string;
  name: string;
  unitPrice: number;
  currency: string;
  inStock: number;
}
