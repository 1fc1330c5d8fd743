import { ORDERS_TOPIC, type OrderPlaced } from '@eshop/events';
import type { Producer } from 'kafkajs';

export interface OrderPublisher {
  publish(event: OrderPlaced): Promise<void>;
}

/**
 * Publishes to `orders`, keyed by order id so that the events of one order stay in order on one partition.
 * The kafkajs instrumentation wraps `send` in a PRODUCER span and writes the trace context into the
 * message's headers, never into its body.
 */
export function createOrderPublisher(producer: Producer): OrderPublisher {
  return {
    async publish(event) {
      // acks -1: resolves only once every in-sync replica has the event.
      await producer.send({ topic: ORDERS_TOPIC, acks: -1, messages: [{ key: event.orderId, value: JSON.stringify(event) }] });
    },
  };
}
