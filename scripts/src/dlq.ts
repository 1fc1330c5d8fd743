import { randomUUID } from 'node:crypto';
import { DLQ_HEADERS } from '@eshop/events';
import { Kafka, logLevel, type IHeaders, type KafkaMessage } from 'kafkajs';

/** A message of a dead-letter topic, with what its headers say of it. */
export interface DeadLetter {
  topic: string;
  partition: number;
  offset: string;
  /** The order id: events are keyed by it. */
  key: string;
  reason: string;
  error: string;
  attempts: string;
  /** Where it was consumed from: its original topic, partition and offset. */
  from: { topic: string; partition: string; offset: string };
  /** The trace of the event's producer (its checkout), from its original `traceparent`. */
  traceId: string;
  message: KafkaMessage;
}

/** The dead letter as a line of `pnpm dlq`: no value, which holds personal data (an e-mail address). */
export function describeDeadLetter(letter: DeadLetter): string {
  const { topic, partition, offset, key, reason, attempts, traceId, from, error } = letter;
  return (
    `${topic} ${partition}:${offset}  order ${key}  ${reason} after ${attempts} attempt(s)  trace ${traceId}  ` +
    `from ${from.topic} ${from.partition}:${from.offset}  (${error})`
  );
}

const text = (headers: IHeaders | undefined, name: string): string => {
  const value = headers?.[name];
  return (Array.isArray(value) ? value[0] : value)?.toString() ?? '';
};

/**
 * The headers the event had before it was dead-lettered: the dead letter's own, without those the consumer added
 * (`x-dlq-*`), and with each trace header put back from its `x-dlq-original-` copy, since sending the dead letter
 * wrote the dead-lettering span's context over them. Sent with these, the event is consumed in its checkout's trace.
 */
export function originalHeaders(headers: IHeaders | undefined): IHeaders {
  const original: IHeaders = {};
  const restored: IHeaders = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    if (name.startsWith(DLQ_HEADERS.original)) restored[name.slice(DLQ_HEADERS.original.length)] = value;
    else if (!name.startsWith('x-dlq-')) original[name] = value;
  }
  return { ...original, ...restored };
}

function deadLetterOf(topic: string, partition: number, message: KafkaMessage): DeadLetter {
  const { headers } = message;
  const traceparent = text(headers, `${DLQ_HEADERS.original}traceparent`) || text(headers, 'traceparent');
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key?.toString() ?? '',
    reason: text(headers, DLQ_HEADERS.reason),
    error: text(headers, DLQ_HEADERS.error),
    attempts: text(headers, DLQ_HEADERS.attempts),
    from: {
      topic: text(headers, DLQ_HEADERS.topic),
      partition: text(headers, DLQ_HEADERS.partition),
      offset: text(headers, DLQ_HEADERS.offset),
    },
    traceId: traceparent.split('-')[1] ?? '',
    message,
  };
}

/** The dead-letter topics, read and replayed with a plain kafkajs client: nothing here is traced. */
export class DeadLetterTopics {
  private readonly kafka: Kafka;

  constructor(brokers: string[]) {
    this.kafka = new Kafka({ clientId: 'dlq', brokers, logLevel: logLevel.NOTHING });
  }

  /**
   * Every message of `topic`, from its earliest to the last one there now. It is read in a group of its own that
   * commits nothing and is deleted afterwards: reading changes nothing for anyone.
   */
  async read(topic: string): Promise<DeadLetter[]> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      if (!(await admin.listTopics()).includes(topic)) return [];
      // The offset after the last message of each partition that has any: reading stops once each is reached.
      const ends = new Map(
        (await admin.fetchTopicOffsets(topic))
          .filter(({ low, high }) => Number(high) > Number(low))
          .map(({ partition, high }) => [partition, Number(high)]),
      );
      const letters: DeadLetter[] = [];
      if (ends.size === 0) return letters;
      const groupId = `dlq-${randomUUID()}`;
      const consumer = this.kafka.consumer({ groupId });
      await consumer.connect();
      try {
        await consumer.subscribe({ topics: [topic], fromBeginning: true });
        await new Promise<void>((resolve, reject) => {
          consumer
            .run({
              autoCommit: false,
              eachMessage: ({ partition, message }) => {
                letters.push(deadLetterOf(topic, partition, message));
                if (Number(message.offset) + 1 >= (ends.get(partition) ?? 0)) ends.delete(partition);
                if (ends.size === 0) resolve();
                return Promise.resolve();
              },
            })
            .catch(reject);
        });
      } finally {
        await consumer.disconnect();
        await admin.deleteGroups([groupId]).catch(() => {});
      }
      return letters.sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset));
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Sends each dead letter back to the topic it came from, with its key, value and original headers, so it is
   * consumed again in its checkout's trace. Every consumer takes a repeat as a repeat (one e-mail, one dispatch
   * per order), so replaying a letter twice, or one whose work got done meanwhile, does no harm.
   */
  async replay(letters: DeadLetter[]): Promise<void> {
    const producer = this.kafka.producer();
    await producer.connect();
    try {
      for (const { from, message } of letters) {
        await producer.send({
          topic: from.topic,
          acks: -1,
          messages: [{ key: message.key, value: message.value, headers: originalHeaders(message.headers) }],
        });
      }
    } finally {
      await producer.disconnect();
    }
  }
}
