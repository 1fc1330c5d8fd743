import { orderIdSchema, orderItemSchema } from '@eshop/events';
import { z } from 'zod';

export const deliveryRequestSchema = z.object({
  orderId: orderIdSchema,
  items: z.array(orderItemSchema).min(1).max(50),
});

export type DeliveryRequest = z.infer<typeof deliveryRequestSchema>;

/** Undoes a delivery. */
export const cancelDeliveryRequestSchema = z.object({ orderId: orderIdSchema });

export type CancelDeliveryRequest = z.infer<typeof cancelDeliveryRequestSchema>;

export interface Delivery {
  deliveryId: string;
  orderId: string;
  estimatedDelivery: string;
  /**
   * `scheduled` once arranged; `dispatched` once the order's `OrderPlaced` event came through Kafka; `cancelled`
   * once its checkout was undone.
   */
  status: 'scheduled' | 'dispatched' | 'cancelled';
  dispatchedAt?: string;
}

export interface Cancellation {
  orderId: string;
  /** `nothing-arranged`: the order had no delivery; none will be arranged for it from now on. */
  status: 'cancelled' | 'nothing-arranged';
}
