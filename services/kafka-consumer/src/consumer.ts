import { setTimeout as delay } from 'node:timers/promises';
import { propagation, trace } from '@opentelemetry/api';
import { ORDERS_DEAD_LETTER_TOPIC, ORDERS_TOPIC } from '@eshop/events';
import { recordFailure } from '@eshop/http';
import { logger } from '@eshop/logger';
import type { FaultSwitch } from '@eshop/faults';
import type { NotificationClient } from '@eshop/notification/client';
import type { Consumer, KafkaMessage, Producer } from 'kafkajs';
import type { Config } from './config';
import { sendConfirmation } from './confirmation';
import { deadLetterHeaders, processMessage, type Outcome, type Source } from './message';

export interface OrderConsumerOptions {
  consumer: Consumer;
  deadLetters: Producer;
  notification: NotificationClient;
  config: Pick<
    Config,
    'KAFKA_TRACE_MODE' | 'NOTIFICATION_MAX_ATTEMPTS' | 'NOTIFICATION_RETRY_BASE_MS' | 'NOTIFICATION_RETRY_MAX_MS'
  >;
  /** The `consumer-slow` fault: a pause before each message. */
  slow: FaultSwitch;
  /** Aborted when the service stops: waits end early, and a message still being retried is left uncommitted. */
  stopping: AbortSignal;
}

/**
 * At-least-once, with kafkajs's own commits. kafkajs commits only resolved offsets, and resolves a message's offset
 * only once `eachMessage` has returned for it (in `eachBatch`, with auto-resolve off, once we call `resolveOffset`).
 * The handlers below return only after notification confirmed the e-mail or the broker acknowledged the dead letter;
 * when they throw, kafkajs fetches the message again. kafkajs commits what is resolved at the end of every batch
 * (one fetch's messages of one partition), on a stop and at least every 5 s: one commit per batch rather than per
 * message, which is most of the broker's work per message. A crash replays at most the batches in hand, and
 * notification answers a replay with the e-mail it already sent.
 *
 * Partitions are consumed concurrently, each in order: one order's events share a partition (they are keyed by
 * order id), so they are still handled one after the other.
 */
const RUN_OPTIONS = { autoCommit: true, partitionsConsumedConcurrently: 6 } as const;

/**
 * Consumes `orders`. The kafkajs instrumentation opens the consumer spans around the handlers below, and
 * what a handler awaits (the call to notification, the dead letter) runs inside them; the trace context is
 * never read here.
 *
 * - `parent` mode, `eachMessage`: the CONSUMER span is a child of the PRODUCER span: one trace from the
 *   checkout to the e-mail.
 * - `link` mode, `eachBatch`: the instrumentation starts a new trace per batch, with a `poll` span as its root
 *   and one `process` span per message that links to that message's producer span. The handler runs in the
 *   `poll` span, so that is the span the e-mail and any dead letter hang from.
 */
export async function consumeOrders({
  consumer,
  deadLetters,
  notification,
  config,
  slow,
  stopping,
}: OrderConsumerOptions): Promise<void> {
  const policy = {
    maxAttempts: config.NOTIFICATION_MAX_ATTEMPTS,
    baseDelayMs: config.NOTIFICATION_RETRY_BASE_MS,
    maxDelayMs: config.NOTIFICATION_RETRY_MAX_MS,
  };

  const processOne = async (source: Source, message: KafkaMessage, heartbeat: () => Promise<void>) => {
    const queuedMs = Date.now() - Number(message.timestamp);
    const span = trace.getActiveSpan();
    // kafkajs heartbeats only when asked to: a long wait without it would cost the consumer its partitions.
    const pause = async (ms: number) => {
      for (let left = ms; left > 0; left -= 1000) {
        await delay(Math.min(left, 1000), undefined, { signal: stopping });
        await heartbeat();
      }
    };
    // Cut short by a stop, after which the message in hand is still finished.
    await slow.delay(pause).catch(() => {});
    const outcome = await processMessage(message.value, {
      sendConfirmation: (event) => sendConfirmation(notification, event),
      policy,
      wait: pause,
      onRetry: (attempt, delayMs, error) => {
        const reason = error instanceof Error ? error.message : String(error);
        span?.addEvent('retry', {
          'eshop.retry.attempt': attempt,
          'eshop.retry.delay_ms': delayMs,
          'eshop.retry.reason': reason,
        });
        logger.warn({ ...source, attempt, delayMs, reason }, 'notification failed; retrying');
      },
    }).catch((error: unknown) => {
      if (stopping.aborted) logger.info(source, 'stopping: the message is left uncommitted, to be delivered again');
      throw error;
    });
    span?.setAttribute('eshop.notification.attempts', outcome.attempts);
    if (outcome.kind === 'dead-letter') await deadLetter(deadLetters, source, message, outcome);
    // Traced or not, each message says how long it waited in Kafka: `pnpm bench` reads it from here.
    logger.info(
      { ...source, queue_ms: queuedMs, outcome: outcome.kind, attempts: outcome.attempts },
      'message handled',
    );
  };

  // A group with committed offsets resumes from them. A group without any (the first start, or a group id changed
  // by hand) reads `orders` from its earliest event: one stored before the group first joined is still an
  // accepted order to e-mail, and notification answers the orders it already e-mailed with their first e-mail.
  await consumer.subscribe({ topics: [ORDERS_TOPIC], fromBeginning: true });
  if (config.KAFKA_TRACE_MODE === 'parent') {
    await consumer.run({
      ...RUN_OPTIONS,
      // kafkajs types the payload's functions as methods: they are called on the payload, not destructured.
      eachMessage: (payload) => {
        const { topic, partition, message } = payload;
        return processOne({ topic, partition, offset: message.offset }, message, () => payload.heartbeat());
      },
    });
  } else {
    await consumer.run({
      ...RUN_OPTIONS,
      eachBatchAutoResolve: false,
      eachBatch: async (payload) => {
        const { batch } = payload;
        const heartbeat = () => payload.heartbeat();
        for (const message of batch.messages) {
          if (!payload.isRunning() || payload.isStale()) break;
          await processOne(
            { topic: batch.topic, partition: batch.partition, offset: message.offset },
            message,
            heartbeat,
          );
          payload.resolveOffset(message.offset);
          await heartbeat();
        }
      },
    });
  }
}

/**
 * Sends a message that can never be processed to `orders.DLQ` and marks the consumer span failed. The producer
 * span of that send is the consumer span's child, so the dead-lettering shows in the message's own trace. If
 * the send fails, this throws, the offset stays uncommitted and the message comes back: nothing is dropped.
 */
async function deadLetter(
  producer: Producer,
  source: Source,
  message: KafkaMessage,
  outcome: Extract<Outcome, { kind: 'dead-letter' }>,
): Promise<void> {
  const span = trace.getActiveSpan();
  span?.setAttribute('eshop.dlq.reason', outcome.reason);
  recordFailure(span, outcome.error, outcome.reason);
  logger.warn(
    { ...source, reason: outcome.reason, attempts: outcome.attempts, error: outcome.error.message },
    'message dead-lettered',
  );
  await producer.send({
    topic: ORDERS_DEAD_LETTER_TOPIC,
    acks: -1,
    messages: [
      {
        key: message.key,
        value: message.value,
        headers: deadLetterHeaders(message.headers, source, outcome, propagation.fields()),
      },
    ],
  });
}
