import { orderIdSchema } from '@eshop/events';
import { z } from 'zod';

// A simulated charge: an amount and an order id, never card data.
export const paymentRequestSchema = z.object({
  orderId: orderIdSchema,
  amount: z.number().positive().max(1_000_000),
  currency: z.string().length(3),
});

export type PaymentRequest = z.infer<typeof paymentRequestSchema>;

/** Undoes a charge. */
export const refundRequestSchema = z.object({ orderId: orderIdSchema });

export type RefundRequest = z.infer<typeof refundRequestSchema>;

export interface Payment {
  paymentId: string;
  orderId: string;
  amount: number;
  currency: string;
  status: 'charged' | 'refunded';
}

export interface Refund {
  orderId: string;
  /** `nothing-charged`: the order had no charge; none will be made for it from now on. */
  status: 'refunded' | 'nothing-charged';
}
