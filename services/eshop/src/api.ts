import { orderItemSchema } from '@eshop/events';
import { z } from 'zod';

export const orderSchema = z.object({
  email: z.email(),
  items: z.array(orderItemSchema).min(1).max(50),
});

export type Order = z.infer<typeof orderSchema>;

/** What `GET /checkout` places: the browser-friendly demo order. */
export const DEMO_ORDER: Order = {
  email: 'ada@example.com',
  items: [
    { sku: 'SKU-1', quantity: 2 },
    { sku: 'SKU-3', quantity: 1 },
  ],
};

export interface PlacedOrder {
  orderId: string;
  /** The checkout's trace: look it up in Jaeger, or run `pnpm trace <traceId>`. */
  traceId: string;
  status: 'placed';
  total: number;
  currency: string;
  reservationId: string;
  paymentId: string;
  deliveryId: string;
  estimatedDelivery: string;
}
