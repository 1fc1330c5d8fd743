import { orderIdSchema } from '@eshop/events';
import { z } from 'zod';

export const sendEmailRequestSchema = z.object({
  orderId: orderIdSchema,
  to: z.email(),
  subject: z.string().min(1).max(200),
  body: z.string().max(10_000),
});

export type SendEmailRequest = z.infer<typeof sendEmailRequestSchema>;

export interface SentEmail {
  emailId: string;
  orderId: string;
  /** The trace the sending belonged to: the checkout's own, when the consumer runs in `parent` mode. */
  traceId: string;
  to: string;
  subject: string;
  sentAt: string;
}

export const listEmailsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  orderId: orderIdSchema.optional(),
});
