import { propagation, trace } from '@opentelemetry/api';
import { DLQ_HEADERS } from '@eshop/events';
import { recordFailure } from '@eshop/tracing/spans';
import { logger } from '@eshop/logger';
import type { IHeaders, KafkaMessage, Producer } from 'kafkajs';

/** Where a consumed message came from. */
export interface Source {
  topic: string;
  partition: number;
  offset: string;
}

/** Why a message can never be processed, and after how many attempts that was decided. */
export interface DeadLetter {
  reason: string;
  error: Error;
  attempts: number;
}

/**
 * The headers of a dead letter: the original ones, the reason and the origin, and a copy of each original trace
 * header (`traceFields`, the propagator's fields). The copy matters because sending the dead letter injects the
 * dead-lettering span's context over `traceparent` & co.: in `parent` mode that is the same trace, in `link` mode
 * it is not, and either way the copy keeps the producer's own context.
 */
export function deadLetterHeaders(
  original: IHeaders | undefined,
  source: Source,
  deadLetter: DeadLetter,
  traceFields: string[],
): IHeaders {
  const headers: IHeaders = { ...original };
  for (const field of traceFields) {
    if (original?.[field] !== undefined) headers[`${DLQ_HEADERS.original}${field}`] = original[field];
  }
  return {
    ...headers,
    [DLQ_HEADERS.reason]: deadLetter.reason,
    [DLQ_HEADERS.error]: deadLetter.error.message,
    [DLQ_HEADERS.topic]: source.topic,
    [DLQ_HEADERS.partition]: String(source.partition),
    [DLQ_HEADERS.offset]: source.offset,
    [DLQ_HEADERS.attempts]: String(deadLetter.attempts),
  };
}

/**
 * Sends a message that can never be processed to `topic` and marks the active span (the message's CONSUMER span)
 * failed. The producer span of that send is its child, so the dead-lettering shows in the message's own trace. If
 * the send fails, this throws, the offset stays uncommitted and the message comes back: nothing is dropped.
 */
export async function sendDeadLetter(
  producer: Producer,
  topic: string,
  source: Source,
  message: KafkaMessage,
  deadLetter: DeadLetter,
): Promise<void> {
  const span = trace.getActiveSpan();
  span?.setAttribute('eshop.dlq.reason', deadLetter.reason);
  recordFailure(span, deadLetter.error, deadLetter.reason);
  logger.warn(
    { ...source, reason: deadLetter.reason, attempts: deadLetter.attempts, error: deadLetter.error.message },
    'message dead-lettered',
  );
  await producer.send({
    topic,
    acks: -1,
    messages: [
      {
        key: message.key,
        value: message.value,
        headers: deadLetterHeaders(message.headers, source, deadLetter, propagation.fields()),
      },
    ],
  });
}
