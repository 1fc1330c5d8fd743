import { z } from 'zod';

// A simulated charge: an amount and an order id, never card data.
export const paymentRequestSchema = z.object({
  orderId: z.string().min(1).max(64),
  amount: z.number().positive().max(1_000_000),
  currency: z.string().length(3),
});

export type PaymentRequest = z.infer<typeof paymentRequestSchema>;

export interface Payment {
  paymentId: string;
  orderId: string;
  amount: number;
  currency: string;
  status: 'charged';
}
