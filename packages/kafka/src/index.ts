import { setTimeout as delay } from 'node:timers/promises';
import { logger } from '@eshop/logger';
import {
  Kafka,
  KafkaJSError,
  logLevel,
  Partitioners,
  type KafkaConfig,
  type LogEntry,
  type Producer,
  type ProducerConfig,
} from 'kafkajs';
import { clientAttributes, clientAttributesOf, setClientAttributes, withMessagingContext } from './messaging';

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** How patient a client is: its retries and timeouts, which kafkajs applies to every request it makes. */
export type KafkaPatience = Pick<KafkaConfig, 'retry' | 'requestTimeout' | 'connectionTimeout'>;

export { consumeTopic, createGroupConsumer, type GroupConsumer, type MessageHandler, type TraceMode } from './consumer';
export { deadLetterHeaders, sendDeadLetter, type DeadLetter, type Source } from './dead-letters';

/** A kafkajs client whose own log lines go through the service's JSON logger. */
export function createKafka(clientId: string, brokers: string[], patience: KafkaPatience = {}): Kafka {
  const log = logger.child({ component: 'kafkajs' });
  const kafka = new Kafka({
    ...patience,
    clientId,
    brokers,
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: { message, ...fields } }: LogEntry) => {
        log[levels[level] ?? 'info'](fields, message);
      },
  });
  setClientAttributes(kafka, clientAttributes(clientId, brokers));
  return kafka;
}

/**
 * A producer with kafkajs's default partitioner named explicitly (kafkajs warns at every start otherwise): the
 * murmur2 hash of the key, as the Java client, so one order's events share a partition whichever client wrote them.
 */
export function createProducer(kafka: Kafka, config: Omit<ProducerConfig, 'createPartitioner'> = {}): Producer {
  const producer = kafka.producer({ ...config, createPartitioner: Partitioners.DefaultPartitioner });
  // Each send in the messaging context, for the producer hook (see ./messaging.ts); the caller's trace context stays.
  const send = producer.send.bind(producer);
  const attributes = clientAttributesOf(kafka);
  producer.send = (record) => withMessagingContext({ attributes }, () => send(record));
  return producer;
}

/**
 * Creates the topics if they do not exist yet. Producer and consumers all call it at start, so none depends on
 * the broker's auto-creation or on which of them starts first. When several create the same topic at once, the
 * broker may answer one of them that it does not host the topic yet while its partitions are being assigned: a
 * retriable error, tried again after a short wait.
 */
export async function ensureTopics(kafka: Kafka, topics: string[], numPartitions = 3): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        const existing = new Set(await admin.listTopics());
        const missing = topics.filter((topic) => !existing.has(topic));
        if (missing.length > 0) {
          await admin.createTopics({
            waitForLeaders: true,
            topics: missing.map((topic) => ({ topic, numPartitions })),
          });
        }
        return;
      } catch (error) {
        if (attempt >= 5 || !(error instanceof KafkaJSError && error.retriable)) throw error;
        await delay(500 * attempt);
      }
    }
  } finally {
    await admin.disconnect();
  }
}

export interface KafkaProbe {
  /** True when the cluster answered a metadata request within `timeoutMs`. */
  isReachable(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

/** A readiness check for `/readyz`: one admin connection, kept open, asked for the cluster's metadata. */
export function createKafkaProbe(kafka: Kafka): KafkaProbe {
  const admin = kafka.admin({ retry: { retries: 0 } });
  let connection: Promise<void> | undefined;
  return {
    async isReachable(timeoutMs = 2000) {
      const timeout = new AbortController();
      try {
        connection ??= admin.connect();
        await Promise.race([
          connection.then(() => admin.describeCluster()),
          delay(timeoutMs, undefined, { signal: timeout.signal }).then(() => Promise.reject(new Error('timed out'))),
        ]);
        return true;
      } catch {
        connection = undefined;
        return false;
      } finally {
        timeout.abort();
      }
    },
    close: () => admin.disconnect(),
  };
}
