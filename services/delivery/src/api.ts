import { orderItemSchema } from '@eshop/events';
import { z } from 'zod';

export const deliveryRequestSchema = z.object({
  orderId: z.string().min(1).max(64),
  items: z.array(orderItemSchema).min(1).max(50),
});

export type DeliveryRequest = z.infer<typeof deliveryRequestSchema>;

export interface Delivery {
  deliveryId: string;
  orderId: string;
  estimatedDelivery: string;
}
