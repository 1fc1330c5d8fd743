import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { Admin } from 'kafkajs';
import {
  CONSUMER_GROUP,
  emailsByOrder,
  emailsFor,
  kafkaOf,
  ORDERS_TOPIC,
  poll,
  traceWithSpans,
  useStack,
} from '../src/fixture';
import { CheckoutLoop, type Attempt } from '../src/checkout-loop';

// Three Kafka nodes (RF 3, min.insync.replicas 2) and two kafka-consumers in one group, as
// `KAFKA_BROKER_COUNT=3 KAFKA_CONSUMER_INSTANCES=2 pnpm start` runs them. A node or a consumer dies while checkouts
// keep coming: every checkout answered 2xx is e-mailed exactly once, and nothing else is answered but 503.

/** A killed consumer holds its partitions this long; the default 30 s would only slow the test down. */
const SESSION_TIMEOUT_MS = 10_000;
/** How long eshop's producer waits for the broker's answer to one request: its PUBLISH_TIMEOUT_MS default. */
const REQUEST_TIMEOUT_MS = 3000;

const context = useStack('kafka-cluster', {
  kafkaNodes: 3,
  consumerInstances: 2,
  serviceEnv: { 'kafka-consumer': { KAFKA_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS) } },
});

/**
 * The promise under test: each checkout is answered 201, or 503 with Retry-After (never another 5xx or no answer),
 * and every 201 is e-mailed exactly once.
 */
async function assertNothingLostOrDoubled(t: TestContext, attempts: Attempt[]): Promise<void> {
  const refused = attempts.filter((attempt) => attempt.status !== 201);
  for (const attempt of refused) {
    assert.equal(attempt.status, 503, `a checkout answered ${attempt.status}`);
    assert.ok(attempt.retryAfter, 'a 503 says when to retry');
  }
  const placed = attempts.filter((attempt) => attempt.status === 201).map((attempt) => attempt.orderId!);
  assert.ok(placed.length > 0, 'some checkouts succeeded');
  const started = Date.now();
  await poll(
    `e-mails for all ${placed.length} orders`,
    () => emailsByOrder(context.stack),
    (sent) => placed.every((orderId) => sent.has(orderId)),
    90_000,
  );
  for (const orderId of placed) {
    assert.equal((await emailsFor(context.stack, orderId)).length, 1, `e-mails for order ${orderId}`);
  }
  t.diagnostic(
    `${attempts.length} checkouts: ${placed.length} answered 201, ${refused.length} answered 503; ` +
      `all e-mailed once, the last ${Date.now() - started} ms after the load stopped`,
  );
}

describe('a Kafka cluster of three nodes and two consumers', () => {
  let admin: Admin;

  before(async () => {
    admin = kafkaOf(context.stack, 'e2e-kafka-cluster').admin();
    await admin.connect();
  });

  after(async () => {
    await admin?.disconnect();
  });

  const leaderOf = async (partition: number): Promise<number> => {
    const { topics } = await admin.fetchTopicMetadata({ topics: [ORDERS_TOPIC] });
    return topics[0].partitions.find((p) => p.partitionId === partition)!.leader;
  };

  /** Starts the load and, once 20 checkouts are in, does `failure` to the node that leads `partition`. */
  const failLeaderUnderLoad = async (partition: number, failure: (node: number) => Promise<void>) => {
    const loop = new CheckoutLoop(context.stack);
    await loop.more(20);
    const node = await leaderOf(partition);
    const at = Date.now();
    await failure(node);
    return { loop, node, at };
  };

  it('keeps every checkout when the leader of an orders partition is killed', async (t) => {
    const {
      loop,
      node: victim,
      at: killedAt,
    } = await failLeaderUnderLoad(0, (node) => context.stack.killKafkaNode(node));
    // The controller moves leadership once it stops hearing from the node (broker.session.timeout.ms, 9 s).
    await poll(
      `a new leader for orders-0 after node ${victim} died`,
      () => leaderOf(0),
      (leader) => leader !== victim && leader !== -1,
      60_000,
    );
    const electedAt = Date.now();
    await loop.more(20);
    const attempts = await loop.stop();
    await context.stack.startKafkaNode(victim);
    t.diagnostic(`node ${victim} killed; orders-0 had a new leader ${electedAt - killedAt} ms later`);

    await assertNothingLostOrDoubled(t, attempts);

    // A checkout placed around the election whose event was bound for the dead leader: its trace shows the
    // producer repeating the send. Either kafkajs repeated the request itself, and the one `send orders` span
    // outlasts a request's timeout (eshop's PUBLISH_TIMEOUT_MS, 3 s), or kafkajs gave up, the span failed, and
    // the outbox sent the event again in a second span.
    const during = attempts.filter((a) => a.status === 201 && a.at >= killedAt - 1000 && a.at <= electedAt);
    assert.ok(during.length > 0, 'checkouts were placed during the election');
    let rode: { traceId: string; sends: string[] } | undefined;
    for (const attempt of during) {
      const spans = await traceWithSpans(context.jaeger, attempt.traceId!, 2);
      const sends = spans.filter((span) => span.name === `send ${ORDERS_TOPIC}`);
      const failed = sends.some((span) => span.attributes['otel.status_code'] === 'ERROR');
      if (failed || sends.some((span) => span.durationMicros > REQUEST_TIMEOUT_MS * 1000)) {
        const describe = (span: (typeof sends)[number]) =>
          `${Math.round(span.durationMicros / 1000)} ms${span.attributes['otel.status_code'] === 'ERROR' ? ' (failed)' : ''}`;
        rode = { traceId: attempt.traceId!, sends: sends.map(describe) };
        break;
      }
    }
    assert.ok(rode, `none of the ${during.length} checkouts placed during the election shows a repeated send`);
    t.diagnostic(`trace ${rode.traceId} rode the election: send orders spans of ${rode.sends.join(', ')}`);
  });

  it('lets the other consumer take over the partitions of one that was killed', async (t) => {
    const loop = new CheckoutLoop(context.stack);
    await loop.more(20);
    const killedAt = Date.now();
    await context.stack.killService('kafka-consumer', 2);
    // Not restarted: the first instance alone must take over its partitions.
    await context.stack.stopService('kafka-consumer', 2);
    const log = context.stack.logFile('kafka-consumer');
    const takeover = await poll(
      'kafka-consumer to take over all partitions of orders',
      async () => joinsAfter(await readFile(log, 'utf8'), killedAt),
      (joins) => joins.some((join) => join.partitions.length === 6),
      SESSION_TIMEOUT_MS + 30_000,
    );
    const tookOverAt = takeover.find((join) => join.partitions.length === 6)!.at;
    await loop.more(20);
    const attempts = await loop.stop();
    t.diagnostic(`kafka-consumer read all 6 partitions ${tookOverAt - killedAt} ms after kafka-consumer-2 was killed`);
    // The broker notices the dead member after the session timeout; the survivor learns of the rebalance at its
    // next heartbeat (every 3 s) or commit, then rejoins.
    assert.ok(tookOverAt - killedAt <= SESSION_TIMEOUT_MS + 10_000, 'the takeover came soon after the session timeout');

    await assertNothingLostOrDoubled(t, attempts);
    // What the killed instance had handled but not committed came again to the survivor, and notification
    // answered it with the e-mail it had sent: those are in its log, with their traces.
    const replayed = (await readFile(context.stack.logFile('notification'), 'utf8'))
      .split('\n')
      .filter((line) => line.includes('"duplicate":true'))
      .map((line) => JSON.parse(line) as { time: string; trace_id?: string })
      .filter(({ time }) => Date.parse(time) >= killedAt);
    t.diagnostic(`replayed after the kill: ${replayed.map(({ trace_id }) => trace_id).join(', ') || 'none'}`);
    const group = await admin.describeGroups([CONSUMER_GROUP]);
    assert.equal(group.groups[0].members.length, 1);
    await context.stack.startService('kafka-consumer', {}, 2);
  });

  it('keeps every checkout when a node is stopped cleanly and started again', async (t) => {
    const { loop, node, at: stoppedAt } = await failLeaderUnderLoad(1, (leader) => context.stack.stopKafkaNode(leader));
    t.diagnostic(`node ${node} stopped cleanly in ${Date.now() - stoppedAt} ms`);
    await loop.more(20);
    const startedAt = Date.now();
    await context.stack.startKafkaNode(node);
    t.diagnostic(`node ${node} back in ${Date.now() - startedAt} ms`);
    await loop.more(20);
    await assertNothingLostOrDoubled(t, await loop.stop());
  });
});

/** The `joined the consumer group` lines of a kafka-consumer log since `since`, with their partitions. */
function joinsAfter(log: string, since: number): { at: number; partitions: number[] }[] {
  return log
    .split('\n')
    .filter((line) => line.includes('joined the consumer group'))
    .map((line) => JSON.parse(line) as { time: string; assignment: Record<string, number[] | undefined> })
    .map(({ time, assignment }) => ({ at: Date.parse(time), partitions: assignment.orders ?? [] }))
    .filter(({ at }) => at >= since);
}
