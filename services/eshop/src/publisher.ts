import { setTimeout as delay } from 'node:timers/promises';
import { ORDERS_TOPIC, type OrderPlaced } from '@eshop/events';
import type { Producer } from 'kafkajs';

export interface OrderPublisher {
  publish(event: OrderPlaced): Promise<void>;
}

/** The broker did not acknowledge the event: it refused it, or did not answer in time. */
export class PublishError extends Error {
  override readonly name = 'PublishError';

  constructor(
    message: string,
    readonly timedOut: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * Publishes to `orders`, keyed by order id so that the events of one order stay in order on one partition.
 * The kafkajs instrumentation wraps `send` in a PRODUCER span and writes the trace context into the
 * message's headers, never into its body. Resolves only once the broker acknowledged, within `timeoutMs`.
 */
export function createOrderPublisher(producer: Producer, timeoutMs: number): OrderPublisher {
  return {
    async publish(event) {
      const timer = new AbortController();
      // acks -1: resolves only once every in-sync replica has the event.
      const sent = producer.send({ topic: ORDERS_TOPIC, acks: -1, messages: [{ key: event.orderId, value: JSON.stringify(event) }] });
      const timeout = delay(timeoutMs, undefined, { signal: timer.signal }).then(() => {
        throw new PublishError(`Kafka did not acknowledge OrderPlaced within ${timeoutMs} ms`, true);
      });
      try {
        await Promise.race([sent, timeout]);
      } catch (error) {
        if (error instanceof PublishError) throw error;
        throw new PublishError(`Kafka refused OrderPlaced: ${error instanceof Error ? error.message : String(error)}`, false, { cause: error });
      } finally {
        timer.abort();
        timeout.catch(() => {});
        sent.catch(() => {});
      }
    },
  };
}
