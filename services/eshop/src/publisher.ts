import { ORDERS_TOPIC, type OrderPlaced } from '@eshop/events';
import type { Producer } from 'kafkajs';

export interface OrderPublisher {
  publish(event: OrderPlaced): Promise<void>;
}

/** The broker did not acknowledge the event, and the producer has given up on it. */
export class PublishError extends Error {
  override readonly name = 'PublishError';
}

/**
 * Publishes to `orders`, keyed by order id so that the events of one order stay in order on one partition.
 * The kafkajs instrumentation wraps `send` in a PRODUCER span and writes the trace context into the
 * message's headers, never into its body.
 *
 * Only the producer's own answer counts: no timer is raced against `send`. A timer could answer 503 while
 * kafkajs kept retrying, and the event of an order already undone could reach the broker once it came back.
 * The producer's retries and timeouts bound the wait instead (see main.ts).
 */
export function createOrderPublisher(producer: Producer): OrderPublisher {
  return {
    async publish(event) {
      try {
        // acks -1: resolves only once every in-sync replica has the event.
        await producer.send({
          topic: ORDERS_TOPIC,
          acks: -1,
          messages: [{ key: event.orderId, value: JSON.stringify(event) }],
        });
      } catch (error) {
        throw new PublishError(
          `Kafka did not acknowledge OrderPlaced: ${error instanceof Error ? error.message : String(error)}`,
          {
            cause: error,
          },
        );
      }
    },
  };
}
