import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { TraceSpan } from '@eshop/jaeger-query';
import { assertMessagingAttributes } from '../src/messaging';
import {
  checkout,
  emailsFor,
  kafkaOf,
  ORDER,
  ORDERS_TOPIC,
  poll,
  postJson,
  traceWithSpans,
  useStack,
} from '../src/fixture';

interface Delivery {
  status: string;
  dispatchedAt?: string;
}

/** A trace of `service` with a span tagged with the order id, other than `except`; Jaeger's newest first. */
async function traceOfOrder(env: ReturnType<typeof useStack>, service: string, orderId: string, except?: string) {
  const traces = await poll(
    `a ${service} trace of order ${orderId}`,
    () => env.jaeger.find(service, { 'eshop.order.id': orderId }),
    (found) => found.some((trace) => trace[0].traceId !== except),
  );
  return traces.find((trace) => trace[0].traceId !== except)!;
}

describe('one OrderPlaced, two consumer groups: kafka-consumer (parent) and delivery (link)', () => {
  const env = useStack('fan-out');
  const deliveryOf = async (orderId: string) => {
    const response = await fetch(`${env.stack.url('delivery')}/deliveries/${orderId}`);
    return { status: response.status, body: (await response.json()) as Delivery };
  };
  /** A checkout, once delivery has consumed its event and dispatched it. */
  const placedAndDispatched = async () => {
    const placed = await checkout(env.stack);
    const delivery = await poll(
      'the delivery dispatched',
      () => deliveryOf(placed.orderId),
      (found) => found.body.status === 'dispatched',
    );
    return { placed, delivery };
  };

  it("dispatches the order in delivery's own group, in a trace of its own linked to the producer span", async () => {
    const { placed, delivery: dispatched } = await placedAndDispatched();
    assert.equal(dispatched.status, 200);
    assert.ok(dispatched.body.dispatchedAt);

    // The checkout's trace holds one producer span, and only kafka-consumer's consumer span under it.
    const checkoutSpans = await traceWithSpans(env.jaeger, placed.traceId, 11);
    const producers = checkoutSpans.filter((span) => span.kind === 'producer');
    assert.equal(producers.length, 1);
    const consumers = checkoutSpans.filter((span) => span.kind === 'consumer');
    assert.deepEqual(
      consumers.map((span) => [span.service, span.parentSpanId]),
      [['kafka-consumer', producers[0].spanId]],
    );

    // Delivery's dispatch: found by the order id, a new trace whose consumer span links to the producer span.
    const found = await traceOfOrder(env, 'delivery', placed.orderId, placed.traceId);
    const dispatch = await traceWithSpans(env.jaeger, found[0].traceId, 2);
    const batch = dispatch.find((span) => span.parentSpanId === undefined)!;
    assertMessagingAttributes(batch, {
      operation: 'poll',
      clientId: 'delivery',
      brokers: env.stack.kafkaBrokers,
      group: 'delivery',
    });
    const consumer = dispatch.find(
      (span) => span.kind === 'consumer' && span.attributes['eshop.order.id'] === placed.orderId,
    );
    assert.ok(consumer, dispatch.map((s) => `${s.name} ${JSON.stringify(s.attributes)}`).join('\n'));
    assert.equal(consumer.service, 'delivery');
    assert.equal(consumer.parentSpanId, batch.spanId);
    assertMessagingAttributes(consumer, {
      operation: 'process',
      clientId: 'delivery',
      brokers: env.stack.kafkaBrokers,
      group: 'delivery',
      orderId: placed.orderId,
    });
    assert.deepEqual(
      consumer.links.map((link) => [link.traceId, link.spanId]),
      [[placed.traceId, producers[0].spanId]],
      'the consumer span links to the producer span',
    );
  });

  it('takes a replayed event as a repeat: the delivery stays as first dispatched, and its span says so', async () => {
    const { placed, delivery: first } = await placedAndDispatched();
    // The event again, as a consumer that crashed before its commit would be given it.
    await sendOrderPlaced(env, [{ orderId: placed.orderId }]);
    await poll(
      'the replay handled by delivery',
      () => env.jaeger.find('delivery', { 'eshop.order.id': placed.orderId }),
      (traces) => traces.flat().some((span) => span.attributes['eshop.delivery.repeated'] === true),
    );
    assert.deepEqual((await deliveryOf(placed.orderId)).body, first.body);
  });

  it('runs each message of a batch in its own consumer span, in both link-mode consumers', async () => {
    await env.stack.stopService('kafka-consumer');
    await env.stack.startService('kafka-consumer', { KAFKA_TRACE_MODE: 'link' });

    // Two orders delivery has arranged, whose events the test writes itself, in one request to one partition: each
    // consumer then fetches them in one batch. Each carries a producer context of its own to link to.
    const orders = [randomUUID(), randomUUID()].map((orderId) => ({
      orderId,
      producerTraceId: randomBytes(16).toString('hex'),
      producerSpanId: randomBytes(8).toString('hex'),
    }));
    for (const { orderId } of orders) {
      const arranged = await postJson(`${env.stack.url('delivery')}/arrangeDelivery`, { orderId, items: ORDER.items });
      assert.equal(arranged.status, 201);
    }
    await sendOrderPlaced(env, orders);

    for (const [service, clientId, group] of [
      ['delivery', 'delivery', 'delivery'],
      ['kafka-consumer', 'kafka-consumer', 'kafka-consumer'],
    ] as const) {
      const found = await traceOfOrder(env, service, orders[0].orderId);
      const consumerSpans = (spans: TraceSpan[]) => spans.filter((span) => span.kind === 'consumer');
      const spans = await poll(
        `${service}'s batch trace with both consumer spans`,
        // delivery: the poll span and two consumer spans; kafka-consumer: each with an e-mail call and its server span.
        () => traceWithSpans(env.jaeger, found[0].traceId, service === 'delivery' ? 3 : 7),
        (trace) => consumerSpans(trace).length === 2,
      );
      const batch = spans.find((span) => span.parentSpanId === undefined)!;
      assertMessagingAttributes(batch, { operation: 'poll', clientId, brokers: env.stack.kafkaBrokers, group });
      assert.equal(batch.attributes['messaging.batch.message_count'], 2, `${service} fetched both in one batch`);
      assert.equal(batch.attributes['eshop.order.id'], undefined, `no order's work runs in ${service}'s poll span`);
      assert.deepEqual(
        spans.filter((span) => span.parentSpanId === batch.spanId).map((span) => span.name),
        ['process orders', 'process orders'],
        `only the consumer spans hang from ${service}'s poll span`,
      );
      for (const { orderId, producerTraceId, producerSpanId } of orders) {
        const consumer = only(consumerSpans(spans), orderId);
        assertMessagingAttributes(consumer, {
          operation: 'process',
          clientId,
          brokers: env.stack.kafkaBrokers,
          group,
          orderId,
        });
        assert.deepEqual(
          consumer.links.map((link) => [link.traceId, link.spanId]),
          [[producerTraceId, producerSpanId]],
        );
        if (service === 'kafka-consumer') {
          // The order's e-mail hangs from its own consumer span.
          const [call, ...more] = spans.filter((span) => span.parentSpanId === consumer.spanId);
          assert.equal(more.length, 0);
          assert.equal(call.attributes['eshop.order.id'], orderId);
          const [email] = spans.filter((span) => span.parentSpanId === call.spanId);
          assert.equal(`${email.service} ${email.name}`, 'notification POST /sendEmail');
        }
      }
    }
    for (const { orderId } of orders) {
      assert.equal((await deliveryOf(orderId)).body.status, 'dispatched');
      assert.equal((await emailsFor(env.stack, orderId)).length, 1);
    }
  });
});

/**
 * Writes an `OrderPlaced` event per order into `orders` itself, in one request to partition 0 (so that a consumer
 * fetches them in one batch), each with the producer context it names, if any, to link to.
 */
async function sendOrderPlaced(
  env: ReturnType<typeof useStack>,
  orders: { orderId: string; producerTraceId?: string; producerSpanId?: string }[],
): Promise<void> {
  const producer = kafkaOf(env.stack, 'e2e-orders').producer();
  await producer.connect();
  try {
    await producer.send({
      topic: ORDERS_TOPIC,
      messages: orders.map(({ orderId, producerTraceId, producerSpanId }) => ({
        key: orderId,
        partition: 0,
        headers: producerTraceId ? { traceparent: `00-${producerTraceId}-${producerSpanId}-01` } : {},
        value: JSON.stringify({
          type: 'OrderPlaced',
          orderId,
          email: ORDER.email,
          items: ORDER.items,
          total: 1,
          currency: 'EUR',
          placedAt: new Date().toISOString(),
        }),
      })),
    });
  } finally {
    await producer.disconnect();
  }
}

/** The one consumer span of `orderId`. */
function only(spans: TraceSpan[], orderId: string): TraceSpan {
  const found = spans.filter((span) => span.attributes['eshop.order.id'] === orderId);
  assert.equal(found.length, 1, `one consumer span of order ${orderId}`);
  return found[0];
}
