import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CheckoutLoop } from '../src/checkout-loop';
import { useCompose } from '../src/compose';
import { eachEmailedOnce, poll } from '../src/fixture';

// docker-compose.kafka-cluster.yml: three Kafka nodes, every topic on three of them, a write counted once two
// have it. The leader of orders-0 goes while checkouts keep coming: nothing accepted is lost.

const BROKERS: Record<string, string> = { '1': 'kafka', '2': 'kafka-2', '3': 'kafka-3' };

describe('docker compose with three Kafka nodes', () => {
  const stack = useCompose({ files: ['docker-compose.kafka-cluster.yml'] });

  /** The compose service of the node that leads partition 0 of `orders`, as a surviving node tells it. */
  async function leaderOfOrders0(askVia: string): Promise<string> {
    const described = await stack.compose([
      'exec',
      '-T',
      askVia,
      '/opt/kafka/bin/kafka-topics.sh',
      '--bootstrap-server',
      'localhost:9092',
      '--describe',
      '--topic',
      'orders',
    ]);
    const leader = /Partition: 0\s+Leader: (\d+)/.exec(described)?.[1];
    assert.ok(leader && BROKERS[leader], `no leader of orders-0 in: ${described}`);
    return BROKERS[leader];
  }

  it('loses no accepted checkout when the leader of orders-0 is killed under load', async (t) => {
    const loop = new CheckoutLoop(stack);
    let leader = '';
    try {
      await loop.more(20);
      leader = await leaderOfOrders0('kafka');
      await stack.compose(['kill', leader]);
      // The controller moves the leadership once the killed node's session ends (some seconds): load goes on.
      const survivor = Object.values(BROKERS).find((service) => service !== leader)!;
      await poll(
        'another node to lead orders-0',
        () => leaderOfOrders0(survivor),
        (now) => now !== leader,
        60_000,
        1000,
      );
      await loop.more(50, 120_000);
    } finally {
      await loop.stop();
    }
    const refused = loop.attempts.filter((attempt) => attempt.status !== 201);
    for (const attempt of refused) {
      assert.equal(attempt.status, 503, `a checkout answered ${attempt.status}`);
      assert.ok(attempt.retryAfter, 'a 503 says when to retry');
    }
    const placed = loop.attempts.filter((attempt) => attempt.status === 201).map((attempt) => attempt.orderId!);
    await eachEmailedOnce(stack, placed);
    t.diagnostic(
      `${leader} (leader of orders-0) killed: ${loop.attempts.length} checkouts, ${placed.length} answered 201, ` +
        `${refused.length} answered 503; all e-mailed once`,
    );
  });
});
