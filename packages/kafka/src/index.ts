import { setTimeout as delay } from 'node:timers/promises';
import { logger } from '@eshop/logger';
import {
  Kafka,
  logLevel,
  Partitioners,
  type KafkaConfig,
  type LogEntry,
  type Producer,
  type ProducerConfig,
} from 'kafkajs';
import { withMessagingContext } from '@eshop/tracing/messaging';
import { clientAttributes, clientAttributesOf, setClientAttributes } from './client-attributes';

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** How patient a client is: its retries and timeouts, which kafkajs applies to every request it makes. */
export type KafkaPatience = Pick<KafkaConfig, 'retry' | 'requestTimeout' | 'connectionTimeout'>;

export {
  consumeTopic,
  createGroupConsumer,
  watchGroupLag,
  type GroupConsumer,
  type GroupLag,
  type MessageHandler,
  type TraceMode,
} from './group-consumer';
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
  // Each send in the messaging context, for the tracing bootstrap's producer hook; the caller's trace context stays.
  const send = producer.send.bind(producer);
  const attributes = clientAttributesOf(kafka);
  producer.send = (record) => withMessagingContext({ attributes }, () => send(record));
  return producer;
}

/**
 * How many partitions a topic is created with: the most consumers of one group that can share it, since each
 * partition is read by one member at a time. Six lets a group of one, two, three or six divide it evenly.
 */
export const TOPIC_PARTITIONS = 6;

/**
 * Creates the topics if they do not exist yet. Producer and consumer both call it at start, so neither depends
 * on the broker's auto-creation or on which of them starts first. The replication factor and the in-sync
 * minimum are the brokers' defaults (`default.replication.factor`, `min.insync.replicas`), which each
 * deployment sets for its number of brokers. A topic that exists with fewer partitions is left as it is (more
 * partitions would move keys, and so one order's events, to other partitions) and reported.
 */
export async function ensureTopics(kafka: Kafka, topics: string[]): Promise<void> {
  // One quick retry: at start, the caller's own backoff (retryAtStart) paces the tries and logs them.
  const admin = kafka.admin({ retry: { retries: 1 } });
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((topic) => !existing.has(topic));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({ topic, numPartitions: TOPIC_PARTITIONS })),
      });
    }
    const present = topics.filter((topic) => existing.has(topic));
    if (present.length === 0) return;
    const metadata = await admin.fetchTopicMetadata({ topics: present });
    for (const { name, partitions } of metadata.topics) {
      if (partitions.length < TOPIC_PARTITIONS) {
        log().warn(
          { topic: name, partitions: partitions.length, wanted: TOPIC_PARTITIONS },
          `topic ${name} has ${partitions.length} partitions, fewer than the ${TOPIC_PARTITIONS} it is created ` +
            'with: at most that many consumers of a group get work. Add partitions with kafka-topics.sh --alter ' +
            'once no events are in flight (it moves keys to other partitions).',
        );
      }
    }
  } finally {
    await admin.disconnect();
  }
}

/** The waits between tries to reach Kafka at start: doubling from half a second up to ten. */
const START_RETRY = { firstMs: 500, maxMs: 10_000 };

/**
 * Runs `attempt` until it succeeds, waiting longer after each failure (up to `START_RETRY.maxMs`) and logging
 * each. At start, Kafka may not be there yet (Kubernetes has no start order, and a broker restarts on its
 * own): a service that exited instead would be restarted later and later, in a crash loop, and be down all
 * that time. How long is too long is the orchestrator's to say (a startupProbe); until then this keeps trying,
 * or until `signal` aborts (the service is stopping), which rejects.
 */
export async function retryAtStart<T>(what: string, attempt: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (let tries = 1, waitMs = START_RETRY.firstMs; ; tries++, waitMs = Math.min(waitMs * 2, START_RETRY.maxMs)) {
    try {
      return await attempt();
    } catch (error) {
      log().warn(
        { tries, retryInMs: waitMs, error: error instanceof Error ? error.message : String(error) },
        `Kafka: cannot ${what} yet; trying again`,
      );
      await delay(waitMs, undefined, { signal });
    }
  }
}

const log = () => logger.child({ component: 'kafka' });

export interface KafkaProbe {
  /** True when the cluster answered a metadata request within `timeoutMs`. */
  isReachable(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

/** How long `/readyz` waits for the cluster: readiness probes must allow longer (see the deploy tests). */
export const KAFKA_PROBE_TIMEOUT_MS = 2000;

/** A readiness check for `/readyz`: one admin connection, kept open, asked for the cluster's metadata. */
export function createKafkaProbe(kafka: Kafka): KafkaProbe {
  const admin = kafka.admin({ retry: { retries: 0 } });
  let connection: Promise<void> | undefined;
  return {
    async isReachable(timeoutMs = KAFKA_PROBE_TIMEOUT_MS) {
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
