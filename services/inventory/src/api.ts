import { orderItemSchema } from '@eshop/events';
import { z } from 'zod';

export const createOrderRequestSchema = z.object({
  orderId: z.string().min(1).max(64),
  items: z.array(orderItemSchema).min(1).max(50),
});

export type CreateOrderRequest = z.infer<typeof createOrderRequestSchema>;

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

export interface CatalogEntry {
  sku: string;
  name: string;
  unitPrice: number;
  currency: string;
  inStock: number;
}
