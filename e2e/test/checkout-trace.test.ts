import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { SERVICES } from '@eshop/scripts';
import { CALLS } from '@eshop/scripts/call-graph';
import type { TraceSpan } from '@eshop/jaeger-query';
import { checkout, ORDER, poll, postJson, traceWithSpans, theEmail, useStack, type PlacedOrder } from '../src/fixture';

/** eshop's server span, 3 × (client + callee's server), producer, consumer, consumer's client, notification's server. */
const SPANS_PER_CHECKOUT = 11;

const only = (spans: TraceSpan[], match: (span: TraceSpan) => boolean, what: string): TraceSpan => {
  const found = spans.filter(match);
  assert.equal(
    found.length,
    1,
    `expected exactly one ${what}, found ${found.length}: ${found.map((s) => s.name).join(', ')}`,
  );
  return found[0];
};
const childrenOf = (spans: TraceSpan[], parent: TraceSpan) =>
  spans.filter((span) => span.parentSpanId === parent.spanId);

describe('one trace from checkout to e-mail (KAFKA_TRACE_MODE=parent)', () => {
  const env = useStack('checkout-trace');

  async function placedTrace(order = ORDER, headers: Record<string, string> = {}) {
    const placed = await checkout(env.stack, order, headers);
    const spans = await traceWithSpans(env.jaeger, placed.traceId, SPANS_PER_CHECKOUT);
    return { placed, spans };
  }

  /** Asserts the documented span shape of one checkout and returns its landmarks. */
  function assertCheckoutShape(placed: PlacedOrder, spans: TraceSpan[]) {
    assert.equal(spans.length, SPANS_PER_CHECKOUT, spans.map((s) => `${s.service}:${s.name}`).join(', '));
    assert.ok(spans.every((span) => span.traceId === placed.traceId));
    assert.deepEqual(
      new Set(spans.map((span) => span.service)),
      new Set(['eshop', 'inventory', 'billing', 'delivery', 'kafka-consumer', 'notification']),
    );

    const root = only(spans, (s) => s.parentSpanId === undefined, 'root span');
    assert.equal(root.service, 'eshop');
    assert.equal(root.kind, 'server');
    assert.match(root.name, /^(POST|GET) \/checkout$/);

    const calls = childrenOf(spans, root).filter((span) => span.kind === 'client');
    const callees = calls.map((call) => {
      const [callee, ...more] = childrenOf(spans, call);
      assert.equal(more.length, 0, `client span ${call.spanId} has more than one child`);
      assert.equal(callee?.kind, 'server');
      return `${callee.service} ${callee.name}`;
    });
    assert.deepEqual(callees, [
      'inventory POST /createOrder',
      'billing POST /payment',
      'delivery POST /arrangeDelivery',
    ]);

    const producer = only(spans, (s) => s.kind === 'producer', 'producer span');
    assert.equal(producer.parentSpanId, root.spanId);
    assert.equal(producer.service, 'eshop');
    assert.equal(producer.name, 'send orders');
    assert.equal(producer.attributes['messaging.system'], 'kafka');
    assert.equal(producer.attributes['messaging.destination.name'], 'orders');

    const consumer = only(spans, (s) => s.kind === 'consumer', 'consumer span');
    assert.equal(consumer.parentSpanId, producer.spanId, 'the consumer span is a child of the producer span');
    assert.equal(consumer.service, 'kafka-consumer');
    assert.equal(consumer.name, 'process orders');
    assert.equal(consumer.attributes['messaging.system'], 'kafka');
    assert.equal(consumer.attributes['messaging.destination.name'], 'orders');
    const queueTime = consumer.attributes['eshop.kafka.queue_time_ms'];
    assert.equal(typeof queueTime, 'number');
    assert.ok((queueTime as number) >= 0, `queue time ${queueTime}`);

    const emailCall = only(childrenOf(spans, consumer), (s) => s.kind === 'client', 'client span under the consumer');
    const email = only(childrenOf(spans, emailCall), () => true, 'span under the e-mail call');
    assert.equal(`${email.service} ${email.name} ${email.kind}`, 'notification POST /sendEmail server');

    for (const span of [root, producer, consumer, email]) {
      assert.equal(
        span.attributes['eshop.order.id'],
        placed.orderId,
        `${span.service} ${span.name} carries eshop.order.id`,
      );
    }
    return { root, producer, consumer, email };
  }

  it('shows a checkout as one trace: eshop, its three calls, the Kafka hop and the e-mail', async () => {
    const response = await postJson(`${env.stack.url('eshop')}/checkout`, ORDER);
    assert.equal(response.status, 201);
    const placed = response.body as PlacedOrder;
    assert.match(placed.orderId, /^[0-9a-f-]{36}$/);
    const traceresponse = response.headers.get('traceresponse') ?? '';
    assert.match(traceresponse, new RegExp(`^00-${placed.traceId}-[0-9a-f]{16}-01$`));

    const spans = await traceWithSpans(env.jaeger, placed.traceId, SPANS_PER_CHECKOUT);
    const { root } = assertCheckoutShape(placed, spans);
    assert.equal(traceresponse.split('-')[2], root.spanId, 'traceresponse names the checkout span');
  });

  it('makes only the calls of the call graph, which the mesh policies are tested against', async () => {
    const { spans } = await placedTrace();
    const calls = spans.flatMap((client) =>
      childrenOf(spans, client)
        .filter((server) => client.kind === 'client' && server.kind === 'server')
        .map((server) => ({ from: client.service, to: server.service, request: server.name })),
    );
    assert.equal(calls.length, 4, JSON.stringify(calls));
    for (const { from, to, request } of calls) {
      const [method, route] = request.split(' ');
      assert.ok(
        CALLS.some((call) => call.from === from && call.to === to && call.method === method && call.route === route),
        `${from} → ${to} ${request} is not in scripts/src/call-graph.ts`,
      );
    }
  });

  it("stores the e-mail with the checkout's trace id", async () => {
    const placed = await checkout(env.stack);
    const email = await theEmail(env.stack, placed.orderId);
    assert.equal(email.traceId, placed.traceId);

    const recent = (await (await fetch(`${env.stack.url('notification')}/emails?limit=5`)).json()) as {
      orderId: string;
    }[];
    assert.ok(recent.length <= 5);
    assert.equal(recent[0]?.orderId, placed.orderId, 'GET /emails lists the newest first');
  });

  it('finds the trace by eshop.order.id in every service that handled the order', async () => {
    const { placed } = await placedTrace();
    for (const service of SERVICES) {
      // delivery also dispatches the order, in a trace of its own that links to the checkout's (see fan-out.test).
      const expected = service === 'delivery' ? 2 : 1;
      const traces = await poll(
        `${expected} ${service} trace(s) tagged with the order id`,
        () => env.jaeger.find(service, { 'eshop.order.id': placed.orderId }),
        (found) => found.length >= expected,
      );
      assert.equal(traces.length, expected);
      assert.ok(traces.some((trace) => trace[0].traceId === placed.traceId));
    }
  });

  it('places no order on GET /checkout, as a reload or a prefetch would send it: 405, Allow: POST', async () => {
    const response = await fetch(`${env.stack.url('eshop')}/checkout`);
    assert.equal(response.status, 405);
    assert.equal(response.headers.get('allow'), 'POST');
    assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
  });

  it('keeps concurrent checkouts in separate traces', async () => {
    const orders = Array.from({ length: 8 }, (_, index) => ({
      email: `buyer${index}@example.com`,
      items: [{ sku: `SKU-${(index % 5) + 1}`, quantity: index + 1 }],
    }));
    const placed = await Promise.all(orders.map((order) => checkout(env.stack, order)));
    assert.equal(new Set(placed.map((order) => order.traceId)).size, orders.length);

    const seenSpanIds = new Set<string>();
    for (const order of placed) {
      const spans = await traceWithSpans(env.jaeger, order.traceId, SPANS_PER_CHECKOUT);
      assertCheckoutShape(order, spans);
      for (const span of spans) {
        assert.ok(!seenSpanIds.has(span.spanId), `span ${span.spanId} appears in two traces`);
        seenSpanIds.add(span.spanId);
        const tagged = span.attributes['eshop.order.id'];
        if (tagged !== undefined)
          assert.equal(tagged, order.orderId, `${span.service} ${span.name} names another order`);
      }
      assert.equal((await theEmail(env.stack, order.orderId)).traceId, order.traceId);
    }
  });

  it('forwards x-request-id to every service, across the Kafka hop', async () => {
    const requestId = randomUUID();
    const { spans } = await placedTrace(ORDER, { 'x-request-id': requestId });
    const servers = spans.filter((span) => span.kind === 'server');
    assert.equal(servers.length, 5);
    for (const span of servers) {
      // A header is recorded as a list of values, which Jaeger shows as JSON.
      const recorded = String(
        Object.entries(span.attributes).find(([key]) => key.startsWith('http.request.header.x'))?.[1],
      );
      assert.deepEqual(JSON.parse(recorded), [requestId], `${span.service} ${span.name} saw the request id`);
    }
  });

  it('continues a trace that arrives in B3 headers only (Envoy with a Zipkin tracer)', async () => {
    const traceId = randomBytes(16).toString('hex');
    const parentSpanId = randomBytes(8).toString('hex');
    const { placed, spans } = await placedTrace(ORDER, {
      'x-b3-traceid': traceId,
      'x-b3-spanid': parentSpanId,
      'x-b3-sampled': '1',
    });
    assert.equal(placed.traceId, traceId);
    const root = spans.find((span) => span.service === 'eshop' && span.kind === 'server');
    assert.equal(root?.parentSpanId, parentSpanId);
  });

  it('lets W3C trace context win when W3C and B3 headers disagree', async () => {
    const w3cTraceId = randomBytes(16).toString('hex');
    const { placed } = await placedTrace(ORDER, {
      traceparent: `00-${w3cTraceId}-${randomBytes(8).toString('hex')}-01`,
      'x-b3-traceid': randomBytes(16).toString('hex'),
      'x-b3-spanid': randomBytes(8).toString('hex'),
      'x-b3-sampled': '1',
    });
    assert.equal(placed.traceId, w3cTraceId);
  });

  it('exports the spans still buffered when a service shuts down', async () => {
    // Billing with a batch delay of ten minutes: its span can only reach Jaeger through the flush at exit.
    await env.stack.stopService('billing');
    await env.stack.startService('billing', { OTEL_BSP_SCHEDULE_DELAY: '600000' });
    try {
      const placed = await checkout(env.stack);
      assert.equal(await env.stack.stopService('billing'), 0, 'billing exits 0 on SIGTERM');
      const spans = await traceWithSpans(env.jaeger, placed.traceId, SPANS_PER_CHECKOUT);
      assert.ok(spans.some((span) => span.service === 'billing' && span.name === 'POST /payment'));
    } finally {
      await env.stack.stopService('billing');
      await env.stack.startService('billing');
    }
  });

  it('starts a new trace per consumption that links to the producer, in KAFKA_TRACE_MODE=link', async () => {
    await env.stack.stopService('kafka-consumer');
    await env.stack.startService('kafka-consumer', { KAFKA_TRACE_MODE: 'link' });
    const placed = await checkout(env.stack);

    const email = await theEmail(env.stack, placed.orderId);
    assert.notEqual(email.traceId, placed.traceId, 'the e-mail belongs to a trace of its own');

    // The checkout's trace ends at the producer span.
    const checkoutSpans = await traceWithSpans(env.jaeger, placed.traceId, 8);
    assert.equal(checkoutSpans.length, 8, "eshop's span, three calls and their callees, and the producer");
    const producer = only(checkoutSpans, (s) => s.kind === 'producer', 'producer span');
    assert.ok(checkoutSpans.every((span) => span.service !== 'kafka-consumer' && span.service !== 'notification'));

    const consumption = await traceWithSpans(env.jaeger, email.traceId, 4);
    const consumer = only(consumption, (s) => s.kind === 'consumer', 'consumer span');
    assert.deepEqual(
      consumer.links.map((link) => [link.traceId, link.spanId]),
      [[placed.traceId, producer.spanId]],
      'the consumer span links to the producer span',
    );
    assert.equal(typeof consumer.attributes['eshop.kafka.queue_time_ms'], 'number');
    assert.ok(consumption.some((span) => span.service === 'notification' && span.name === 'POST /sendEmail'));
    const found = await poll(
      'the consumption trace by order id',
      () => env.jaeger.find('kafka-consumer', { 'eshop.order.id': placed.orderId }),
      (traces) => traces.length > 0,
    );
    assert.equal(found[0][0].traceId, email.traceId);
  });
});
