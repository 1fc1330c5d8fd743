import { context, trace, type Attributes, type Span } from '@opentelemetry/api';
import { logger } from '@eshop/logger';
import type { Admin, Consumer, ConsumerConfig, Kafka, KafkaMessage } from 'kafkajs';
import type { Source } from './dead-letters';
import { withMessagingContext } from '@eshop/tracing/messaging';
import { clientAttributesOf } from './client-attributes';

/** A consumer in its group, and whether it is in it now. */
export interface GroupConsumer {
  consumer: Consumer;
  groupId: string;
  /** The client's and the group's attributes, for the spans of what it consumes. */
  attributes: Attributes;
  /** True once the group gave it its partitions, until the consumer crashes. */
  isInGroup(): boolean;
}

/**
 * A consumer of group `groupId`. kafkajs restarts a consumer after a retriable failure, such as a broker that went
 * away; after any other, this process would keep running without consuming: it exits, and lets the orchestrator
 * (or the native stack's supervisor) restart it. `stopping` tells a crash from the service's own stop.
 */
export function createGroupConsumer(
  kafka: Kafka,
  config: Pick<ConsumerConfig, 'groupId' | 'sessionTimeout'>,
  stopping: AbortSignal,
): GroupConsumer {
  const consumer = kafka.consumer(config);
  let inGroup = false;
  // Each rebalance in the log, with the partitions this member reads after it: when a member dies, the log of
  // another shows it taking them over.
  consumer.on(consumer.events.REBALANCING, () => logger.info('the consumer group is rebalancing'));
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    inGroup = true;
    logger.info({ memberId: payload.memberId, assignment: payload.memberAssignment }, 'joined the consumer group');
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    inGroup = false;
    if (!payload.restart && !stopping.aborted) {
      logger.fatal({ err: payload.error }, 'the consumer stopped for good');
      process.exit(1);
    }
  });
  return {
    consumer,
    groupId: config.groupId,
    attributes: { ...clientAttributesOf(kafka), 'messaging.consumer.group.name': config.groupId },
    isInGroup: () => inGroup,
  };
}

/** One message's work; it returns once the message is done with (processed or dead-lettered). */
export type MessageHandler = (message: KafkaMessage, source: Source, heartbeat: () => Promise<void>) => Promise<void>;

/**
 * How consumption is traced: `parent` (kafkajs `eachMessage`), each message's CONSUMER span a child of its producer
 * span, in the producer's trace; `link` (kafkajs `eachBatch`), each batch a new trace rooted at a `poll` span, each
 * message's CONSUMER span linked to its producer span.
 */
export type TraceMode = 'parent' | 'link';

/**
 * At-least-once, with kafkajs's own commits. kafkajs commits only resolved offsets, and resolves a message's offset
 * only once `eachMessage` has returned for it (in `eachBatch`, with auto-resolve off, once we call `resolveOffset`).
 * `handle` returns only once the message is done with; when it throws, kafkajs fetches the message again. kafkajs
 * commits what is resolved at the end of every batch (one fetch's messages of one partition), on a stop and at least
 * every 5 s: one commit per batch rather than per message, which is most of the broker's work per message. A crash
 * replays at most the batches in hand, so every handler must take a replay as a repeat.
 *
 * Partitions are consumed concurrently, each in order: one order's events share a partition (they are keyed by
 * order id), so they are still handled one after the other.
 */
const RUN_OPTIONS = { autoCommit: true, partitionsConsumedConcurrently: 6 } as const;

/**
 * Consumes `topic` from the group's committed offsets, or from its earliest event for a group without any (the first
 * start, or a group id changed by hand): one stored before the group first joined is still an event to handle.
 *
 * In both modes `handle` runs inside the message's own CONSUMER span, which the kafkajs instrumentation opens; the
 * trace context is never read here. In `link` mode the instrumentation runs the batch handler in the batch's `poll`
 * span, and its consumer hook hands over each message's `process` span (through the messaging context, see
 * @eshop/tracing/messaging): each message is handled with its own span active, so what it does (a call, a dead letter) hangs
 * from that span, and several messages' work never hangs from the one `poll` span. A span made here instead would
 * be a second consumer span; the trace context re-extracted from the headers would replace the consumer span.
 */
export async function consumeTopic(
  { consumer, attributes }: GroupConsumer,
  topic: string,
  mode: TraceMode,
  handle: MessageHandler,
): Promise<void> {
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const messageSpans = new WeakMap<object, Span>();
  // The fetch loop that calls the handlers starts inside `run`, so the hooks find this context there.
  await withMessagingContext({ attributes, messageSpans }, () =>
    mode === 'parent'
      ? consumer.run({
          ...RUN_OPTIONS,
          // kafkajs types the payload's functions as methods: they are called on the payload, not destructured.
          eachMessage: (payload) => {
            const { topic, partition, message } = payload;
            return handle(message, { topic, partition, offset: message.offset }, () => payload.heartbeat());
          },
        })
      : consumer.run({
          ...RUN_OPTIONS,
          eachBatchAutoResolve: false,
          eachBatch: async (payload) => {
            const { batch } = payload;
            const heartbeat = () => payload.heartbeat();
            // The `poll` span is a CLIENT span no hook sees: it gets the client's and the group's attributes here.
            trace.getActiveSpan()?.setAttributes(attributes);
            for (const message of batch.messages) {
              if (!payload.isRunning() || payload.isStale()) break;
              const source = { topic: batch.topic, partition: batch.partition, offset: message.offset };
              const span = messageSpans.get(message);
              const work = () => handle(message, source, heartbeat);
              await (span ? context.with(trace.setSpan(context.active(), span), work) : work());
              payload.resolveOffset(message.offset);
              await heartbeat();
            }
          },
        }),
  );
}

/** How a consumer group stood on a topic at its last check: a health detail, and a log line while it lags. */
export interface GroupLag {
  group: string;
  inGroup: boolean;
  /** The events of the topic the group has not committed yet; absent while the cluster cannot be asked. */
  lag?: number;
  checkedAt?: string;
}

/**
 * Checks every `intervalMs` how far `group` lags behind `topic`, logs it while it lags or is out of its group, and
 * returns the last check. It is for people and dashboards, not for readiness: a service whose consumer waits for
 * Kafka still answers its HTTP calls, and taking it out of its Service then would fail what Kafka being away should
 * not fail.
 */
export function watchGroupLag(
  kafka: Kafka,
  group: GroupConsumer,
  topic: string,
  intervalMs: number,
  stopping: AbortSignal,
): () => GroupLag {
  const admin = kafka.admin({ retry: { retries: 0 } });
  let connection: Promise<void> | undefined;
  let last: GroupLag = { group: group.groupId, inGroup: false };
  const check = async () => {
    const now: GroupLag = { group: group.groupId, inGroup: group.isInGroup(), checkedAt: new Date().toISOString() };
    try {
      connection ??= admin.connect();
      await connection;
      now.lag = await lagOf(admin, group.groupId, topic);
    } catch (error) {
      connection = undefined;
      logger.warn({ err: error, group: group.groupId }, 'cannot read the consumer group lag');
    }
    const behind = !now.inGroup || (now.lag ?? 0) > 0;
    if (behind || last.lag !== now.lag || last.inGroup !== now.inGroup) logger.info(now, 'consumer group lag');
    last = now;
  };
  // The next check is set once this one is done, so a slow cluster never has two running at once.
  let timer: NodeJS.Timeout | undefined;
  const next = () => {
    if (!stopping.aborted) timer = setTimeout(() => void check().finally(next), intervalMs).unref();
  };
  next();
  stopping.addEventListener('abort', () => {
    clearTimeout(timer);
    void admin.disconnect();
  });
  return () => last;
}

/** The events of `topic` after the group's committed offsets, all partitions together. */
async function lagOf(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [ends, [committed]] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId, topics: [topic] }),
  ]);
  const next = new Map(committed.partitions.map(({ partition, offset }) => [partition, Number(offset)]));
  // A partition without a commit (-1) is read from its earliest event: all of it is lag.
  return ends.reduce((sum, { partition, high, low }) => {
    const from = next.get(partition) ?? -1;
    return sum + Number(high) - (from >= 0 ? from : Number(low));
  }, 0);
}
