import { setTimeout as delay } from 'node:timers/promises';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { ORDERS_TOPIC } from '@eshop/events';

/** kafka-consumer's group, as the service names it unless KAFKA_GROUP_ID says otherwise. */
const GROUP_ID = process.env.KAFKA_GROUP_ID ?? 'kafka-consumer';
const POLL_MS = 100;

/** The end of each partition of `orders`: the offset its next event will get. */
export type Offsets = Map<number, number>;

/** How far kafka-consumer's group is behind on `orders`, from the broker's own offsets. */
export class OrdersTopic {
  private constructor(private readonly admin: Admin) {}

  static async connect(brokers: string[]): Promise<OrdersTopic> {
    const admin = new Kafka({ clientId: 'bench', brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    return new OrdersTopic(admin);
  }

  async ends(): Promise<Offsets> {
    const partitions = await this.admin.fetchTopicOffsets(ORDERS_TOPIC);
    return new Map(partitions.map(({ partition, high }) => [partition, Number(high)]));
  }

  /** The events of `orders` that the group has not committed yet. */
  async lag(): Promise<number> {
    const [ends, [committed]] = await Promise.all([
      this.ends(),
      this.admin.fetchOffsets({ groupId: GROUP_ID, topics: [ORDERS_TOPIC] }),
    ]);
    const done = new Map(committed.partitions.map(({ partition, offset }) => [partition, Number(offset)]));
    // A partition without a committed offset (-1) is read from its beginning: all of it is behind.
    return [...ends].reduce((sum, [partition, end]) => sum + end - Math.max(0, done.get(partition) ?? 0), 0);
  }

  /** Waits until `count` events have been added to `orders` since `from`: eshop's outbox publishes after the 201. */
  async untilPublished(from: Offsets, count: number, timeoutMs: number): Promise<Offsets> {
    return this.poll(`${count} events on ${ORDERS_TOPIC}`, timeoutMs, async () => {
      const ends = await this.ends();
      return eventsBetween(from, ends) >= count ? ends : undefined;
    });
  }

  /** Waits until the group's lag is zero and says when it was first seen so (ms since the epoch). */
  async untilCaughtUp(timeoutMs: number): Promise<number> {
    return this.poll(`${GROUP_ID} to catch up on ${ORDERS_TOPIC}`, timeoutMs, async () =>
      (await this.lag()) === 0 ? Date.now() : undefined,
    );
  }

  close(): Promise<void> {
    return this.admin.disconnect();
  }

  private async poll<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = await check();
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
      await delay(POLL_MS);
    }
  }
}

export function eventsBetween(from: Offsets, to: Offsets): number {
  return [...to].reduce((sum, [partition, end]) => sum + end - (from.get(partition) ?? 0), 0);
}
