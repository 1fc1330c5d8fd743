import { ORDERS_DEAD_LETTER_TOPIC, ORDERS_TOPIC, type OrderPlaced } from '@eshop/events';
import { logger } from '@eshop/logger';
import type { Consumer, KafkaMessage, Producer } from 'kafkajs';
import type { Config } from './config';
import { parseOrderPlaced, PoisonMessageError } from './emailer';

export interface OrderConsumerOptions {
  consumer: Consumer;
  deadLetters: Producer;
  handle: (event: OrderPlaced) => Promise<void>;
  traceMode: Config['KAFKA_TRACE_MODE'];
}

/**
 * Consumes `orders`. The kafkajs instrumentation opens the consumer spans around the handlers below, and
 * what a handler awaits (the call to notification) runs inside them; the trace context is never read here.
 *
 * - `parent` mode, `eachMessage`: the CONSUMER span is a child of the PRODUCER span: one trace from the
 *   checkout to the e-mail.
 * - `link` mode, `eachBatch`: the instrumentation starts a new trace per batch, with a `poll` span as its root
 *   and one `process` span per message that links to that message's producer span.
 */
export async function consumeOrders({ consumer, deadLetters, handle, traceMode }: OrderConsumerOptions): Promise<void> {
  const process = async (message: KafkaMessage, partition: number) => {
    let event: OrderPlaced;
    try {
      event = parseOrderPlaced(message.value);
    } catch (error) {
      if (!(error instanceof PoisonMessageError)) throw error;
      await deadLetter(deadLetters, message, partition, error);
      return;
    }
    await handle(event);
  };

  await consumer.subscribe({ topics: [ORDERS_TOPIC] });
  if (traceMode === 'parent') {
    await consumer.run({ eachMessage: ({ message, partition }) => process(message, partition) });
  } else {
    await consumer.run({
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        for (const message of batch.messages) {
          if (!isRunning() || isStale()) break;
          await process(message, batch.partition);
          resolveOffset(message.offset);
          await heartbeat();
        }
      },
    });
  }
}

/** Moves an unprocessable message to the dead-letter topic, headers (and so trace context) included. */
async function deadLetter(producer: Producer, message: KafkaMessage, partition: number, error: Error): Promise<void> {
  logger.warn({ reason: error.message, partition, offset: message.offset }, 'message dead-lettered');
  await producer.send({
    topic: ORDERS_DEAD_LETTER_TOPIC,
    acks: -1,
    messages: [
      {
        key: message.key,
        value: message.value,
        headers: {
          ...message.headers,
          'x-dlq-reason': error.message,
          'x-dlq-topic': ORDERS_TOPIC,
          'x-dlq-partition': String(partition),
          'x-dlq-offset': message.offset,
          'x-dlq-attempts': '1',
        },
      },
    ],
  });
}
