import { orderItemSchema } from '@eshop/events';
import { z } from 'zod';

/** The most units one order may hold, all lines together: no single order can empty a SKU's stock. */
export const MAX_UNITS_PER_ORDER = 1000;

export const orderSchema = z.object({
  email: z.email(),
  items: z
    .array(orderItemSchema)
    .min(1)
    .max(50)
    .superRefine((items, ctx) => {
      // A SKU on two lines would let an order pass each line's cap and add up beyond it; one line per SKU.
      const seen = new Set<string>();
      items.forEach(({ sku }, index) => {
        if (seen.has(sku))
          ctx.addIssue({ code: 'custom', path: [index, 'sku'], message: 'SKU already ordered on another line' });
        seen.add(sku);
      });
      const units = items.reduce((sum, item) => sum + item.quantity, 0);
      if (units > MAX_UNITS_PER_ORDER) {
        ctx.addIssue({ code: 'custom', message: `${units} units in all; at most ${MAX_UNITS_PER_ORDER} per order` });
      }
    }),
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
