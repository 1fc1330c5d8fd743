import { setTimeout as delay } from 'node:timers/promises';
import { trace } from '@opentelemetry/api';
import { ORDERS_DEAD_LETTER_TOPIC, ORDERS_TOPIC } from '@eshop/events';
import { consumeTopic, sendDeadLetter, type GroupConsumer, type Source } from '@eshop/kafka';
import { logger } from '@eshop/logger';
import type { FaultSwitch } from '@eshop/faults';
import type { NotificationClient } from '@eshop/notification/client';
import type { KafkaMessage, Producer } from 'kafkajs';
import type { Config } from './config';
import { sendConfirmation } from './confirmation';
import { processMessage } from './message';

export interface OrderConsumerOptions {
  consumer: GroupConsumer;
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
 * Consumes `orders` in kafka-consumer's group (see `consumeTopic` for the commits and the spans): each event is
 * e-mailed once notification confirms it, or dead-lettered to `orders.DLQ`. Notification answers a replayed event
 * with the e-mail it already sent.
 *
 * - `parent` mode: the CONSUMER span is a child of the PRODUCER span: one trace from the checkout to the e-mail.
 * - `link` mode: each batch is a new trace; each message's CONSUMER span links to its producer span, and its
 *   e-mail (or dead letter) hangs from that span.
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

  const processOne = async (message: KafkaMessage, source: Source, heartbeat: () => Promise<void>) => {
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
    if (outcome.kind === 'dead-letter')
      await sendDeadLetter(deadLetters, ORDERS_DEAD_LETTER_TOPIC, source, message, outcome);
    // Traced or not, each message says how long it waited in Kafka: `pnpm bench` reads it from here.
    logger.info(
      { ...source, queue_ms: queuedMs, outcome: outcome.kind, attempts: outcome.attempts },
      'message handled',
    );
  };

  await consumeTopic(consumer, ORDERS_TOPIC, config.KAFKA_TRACE_MODE, processOne);
}
