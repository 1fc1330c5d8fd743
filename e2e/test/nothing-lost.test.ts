import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import type { ServiceName } from '@eshop/scripts';
import {
  CONSUMER_GROUP,
  checkout,
  emailsByOrder,
  emailsFor,
  kafkaOf,
  ORDERS_TOPIC,
  poll,
  traceWithSpans,
  useStack,
  type Order,
  type PlacedOrder,
  type SentEmail,
} from '../src/fixture';

// kafka-consumer is not started with the others: the first test places orders before it has ever run.
const context = useStack('nothing-lost', {
  services: ['inventory', 'billing', 'delivery', 'notification', 'eshop'],
  serviceEnv: {
    // A killed consumer holds its partitions this long; the default 30 s would only slow the test down.
    'kafka-consumer': { KAFKA_SESSION_TIMEOUT_MS: '10000' },
  },
});

// A few hundred of these are placed: one unit each, so the stock lasts.
const ONE_UNIT: Order = { email: 'ada@example.com', items: [{ sku: 'SKU-3', quantity: 1 }] };

const listedEmails = () => emailsByOrder(context.stack);

/** What notification's ledger holds, read from its SQLite file: order id → e-mail id. */
function ledger(): Map<string, string> {
  const db = new DatabaseSync(context.stack.dataFile('notification.db'), { readOnly: true });
  try {
    const rows = db.prepare('SELECT order_id, email_id FROM emails').all();
    return new Map(rows.map((row) => [String(row.order_id), String(row.email_id)]));
  } finally {
    db.close();
  }
}

/**
 * Waits until every order has its e-mail, then checks the promise: exactly one e-mail each, in the checkout's
 * own trace, and notification's ledger holding exactly what `GET /emails` lists.
 */
async function eachEmailedOnce(orders: PlacedOrder[]): Promise<Map<string, SentEmail>> {
  const sent = await poll(
    `e-mails for all ${orders.length} orders`,
    listedEmails,
    (sent) => orders.every(({ orderId }) => sent.has(orderId)),
    90_000,
  );
  for (const { orderId, traceId } of orders) {
    const emails = await emailsFor(context.stack, orderId);
    assert.equal(emails.length, 1, `e-mails for order ${orderId}`);
    assert.equal(emails[0].traceId, traceId, `the e-mail of ${orderId} is in its checkout's trace`);
  }
  const listed = await listedEmails();
  assert.deepEqual(ledger(), new Map([...listed].map(([orderId, email]) => [orderId, email.emailId])));
  return sent;
}

describe('nothing accepted is lost or doubled', () => {
  it('e-mails the orders placed before kafka-consumer first ran, each once, in its checkout trace', async () => {
    const orders: PlacedOrder[] = [];
    for (let i = 0; i < 5; i++) orders.push(await checkout(context.stack));

    // The group has never committed anything: it starts from the earliest event, not from the latest.
    const admin = kafkaOf(context.stack, 'e2e-nothing-lost').admin();
    await admin.connect();
    // Polled: the broker sets up its group coordinator when it is first asked.
    const [committed] = await poll(
      "the consumer group's offsets",
      () => admin.fetchOffsets({ groupId: CONSUMER_GROUP, topics: [ORDERS_TOPIC] }),
      () => true,
    );
    await admin.disconnect();
    assert.ok(
      committed.partitions.every(({ offset }) => offset === '-1'),
      'no offset committed yet',
    );

    await context.stack.startService('kafka-consumer');
    await eachEmailedOnce(orders);

    for (const { traceId } of orders) {
      const spans = await traceWithSpans(context.jaeger, traceId, 11);
      const producer = spans.find((span) => span.service === 'eshop' && span.kind === 'producer');
      const consumer = spans.find((span) => span.service === 'kafka-consumer' && span.kind === 'consumer');
      assert.ok(producer && consumer, `trace ${traceId} has the producer and the consumer span`);
      assert.equal(consumer.parentSpanId, producer.spanId, 'the consumer span is a child of the producer span');
    }
  });

  /**
   * Places checkouts from two shoppers while `crashing` are SIGKILLed mid-stream and the stack's supervisor
   * restarts them; then every accepted order must be e-mailed exactly once, and an e-mail sent before the crash
   * must be the same one after it.
   */
  async function crashDuringCheckouts(crashing: ServiceName[]) {
    const placed: PlacedOrder[] = [];
    let placedAfterRestart = 0;
    let restarted = false;
    let stop = false;
    const shopper = async () => {
      for (let count = 0; !stop && count < 500; count++) {
        const order = await checkout(context.stack, ONE_UNIT);
        placed.push(order);
        if (restarted) placedAfterRestart++;
        // A steady pace, so that the run places a few hundred orders rather than thousands.
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const shoppers = [shopper(), shopper()];
    let before = new Map<string, SentEmail>();
    try {
      before = await poll(
        'the first e-mails',
        listedEmails,
        (sent) => placed.filter(({ orderId }) => sent.has(orderId)).length >= 10,
      );
      await Promise.all(crashing.map((service) => context.stack.killService(service)));
      await Promise.all(crashing.map((service) => context.stack.untilReady(service)));
      restarted = true;
      await poll(
        'checkouts after the restart',
        () => placedAfterRestart,
        (count) => count >= 20,
        60_000,
      );
    } finally {
      stop = true;
      await Promise.all(shoppers);
    }

    const after = await eachEmailedOnce(placed);
    const sentBefore = placed.filter(({ orderId }) => before.has(orderId));
    assert.ok(sentBefore.length >= 10 && sentBefore.length < placed.length, 'crashed mid-stream');
    for (const { orderId } of sentBefore) {
      assert.equal(after.get(orderId)!.emailId, before.get(orderId)!.emailId, `order ${orderId} e-mailed again`);
    }
    console.log(`${crashing.join(' and ')} killed: ${placed.length} orders placed, each e-mailed once`);
  }

  it('SIGKILL notification during a checkout loop: the supervisor restarts it, every order e-mailed once', async () => {
    await crashDuringCheckouts(['notification']);
  });

  it('SIGKILL kafka-consumer and notification together: every order e-mailed once', async () => {
    await crashDuringCheckouts(['kafka-consumer', 'notification']);
  });
});
