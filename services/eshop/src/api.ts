import { orderItemSchema } from '@eshop/events';
import { z } from 'zod';

export const orderSchema = z.object({
  email: z.email(),
  items: z.array(orderItemSchema).min(1).max(50),
});

export type Order = z.infer<typeof orderSchema>;

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
