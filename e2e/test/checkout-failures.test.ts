import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TraceSpan } from '@eshop/jaeger-query';
import { checkout, DeadLetters, emailsFor, ORDER, poll, postJson, useStack, type Order } from '../src/fixture';

const perRequest = { FAULT_INJECTION_HEADER: 'enabled' };
const ctx = useStack('checkout-failures', {
  serviceEnv: {
    // A short timeout, so that a slow delivery times out well within a test.
    eshop: { ...perRequest, DOWNSTREAM_TIMEOUT_MS: '1000' },
    inventory: perRequest,
    billing: perRequest,
    delivery: perRequest,
    notification: perRequest,
  },
});

const SKU = 'SKU-5';
const FAILING_ORDER: Order = { email: 'ada@example.com', items: [{ sku: SKU, quantity: 4 }] };

interface Failed {
  status: number;
  headers: Headers;
  body: { title?: string; status?: number };
  traceId: string;
}

async function failingCheckout(headers: Record<string, string> = {}): Promise<Failed> {
  const response = await postJson(`${ctx.stack.url('eshop')}/checkout`, FAILING_ORDER, headers);
  const traceId = /^00-([\da-f]{32})-/.exec(response.headers.get('traceresponse') ?? '')?.[1];
  assert.ok(traceId, 'a traceresponse header');
  return { ...response, body: response.body as Failed['body'], traceId };
}

async function inStock(sku = SKU): Promise<number> {
  const catalog = (await (await fetch(`${ctx.stack.url('inventory')}/catalog`)).json()) as {
    sku: string;
    inStock: number;
  }[];
  return catalog.find((entry) => entry.sku === sku)!.inStock;
}

/** The trace once it holds every span `names` lists (as `service: name`). */
function traceWith(traceId: string, names: string[]): Promise<TraceSpan[]> {
  const has = (spans: TraceSpan[], wanted: string) => spans.some((span) => `${span.service}: ${span.name}` === wanted);
  return poll(
    `trace ${traceId} with ${names.join(', ')}`,
    () => ctx.jaeger.trace(traceId),
    (spans) => Boolean(spans && names.every((name) => has(spans, name))),
  ).then((spans) => spans);
}

const one = (spans: TraceSpan[], service: string, name: string) => {
  const found = spans.find((span) => span.service === service && span.name === name);
  assert.ok(found, `${service}: ${name} in ${spans.map((span) => `${span.service}: ${span.name}`).join('; ')}`);
  return found;
};
const isError = (span: TraceSpan) => span.attributes['otel.status_code'] === 'ERROR';
const root = (spans: TraceSpan[]) => one(spans, 'eshop', 'POST /checkout');
const compensations = (spans: TraceSpan[]) =>
  spans.filter((span) => span.name.startsWith('compensate ')).map((span) => span.name);

/** The order id a failed checkout had, from its span: the answer of a failed checkout carries none. */
const orderIdOf = (spans: TraceSpan[]) => String(root(spans).attributes['eshop.order.id']);

async function paymentStatus(orderId: string): Promise<string | number> {
  const response = await fetch(`${ctx.stack.url('billing')}/payment/${orderId}`);
  return response.ok ? ((await response.json()) as { status: string }).status : response.status;
}

describe('checkout failures on the real stack', () => {
  let deadLetters: DeadLetters;
  before(async () => {
    deadLetters = await DeadLetters.read(ctx.stack);
  });
  after(async () => {
    await deadLetters?.close();
  });

  it('out of stock: 409, the inventory span ERROR with the fault, nothing to undo', async () => {
    const before = await inStock();
    const failed = await failingCheckout({ 'x-fault': 'out-of-stock' });
    assert.equal(failed.status, 409);
    assert.equal(failed.body.title, 'Out of stock');
    const spans = await traceWith(failed.traceId, ['eshop: POST /checkout', 'inventory: POST /createOrder']);
    const inventory = one(spans, 'inventory', 'POST /createOrder');
    assert.equal(inventory.attributes['eshop.fault'], 'out-of-stock');
    assert.ok(isError(inventory));
    assert.ok(isError(root(spans)));
    assert.equal(root(spans).attributes['eshop.checkout.failure'], 'inventory_refused');
    assert.deepEqual(compensations(spans), []);
    assert.equal(await inStock(), before);
  });

  it('payment declined: 402, the billing span ERROR, the stock released in a compensation span', async () => {
    const before = await inStock();
    const failed = await failingCheckout({ 'x-fault': 'payment-declined' });
    assert.equal(failed.status, 402);
    const spans = await traceWith(failed.traceId, [
      'billing: POST /payment',
      'eshop: compensate inventory',
      'inventory: POST /releaseOrder',
    ]);
    const billing = one(spans, 'billing', 'POST /payment');
    assert.equal(billing.attributes['eshop.fault'], 'payment-declined');
    assert.equal(billing.attributes['error.type'], 'payment_declined');
    assert.ok(isError(billing));
    const compensation = one(spans, 'eshop', 'compensate inventory');
    assert.equal(compensation.parentSpanId, root(spans).spanId);
    assert.deepEqual(compensations(spans), ['compensate inventory']);
    assert.equal(await inStock(), before);
  });

  it('delivery too slow: 503 with Retry-After after retries, every step undone', async () => {
    const before = await inStock();
    const failed = await failingCheckout({ 'x-fault': 'delivery-slow=3000' });
    assert.equal(failed.status, 503);
    assert.ok(Number(failed.headers.get('retry-after')) > 0);
    const spans = await traceWith(failed.traceId, [
      'eshop: compensate delivery',
      'eshop: compensate billing',
      'eshop: compensate inventory',
      'delivery: POST /cancelDelivery',
      'billing: POST /refund',
      'inventory: POST /releaseOrder',
    ]);
    assert.deepEqual(compensations(spans), ['compensate delivery', 'compensate billing', 'compensate inventory']);
    const urlOf = (span: TraceSpan) => String(span.attributes['url.full'] ?? span.attributes['http.url'] ?? '');
    const attempts = spans.filter(
      (span) => span.service === 'eshop' && span.kind === 'client' && urlOf(span).endsWith('/arrangeDelivery'),
    );
    assert.ok(attempts.length >= 2, `the delivery call was retried (${attempts.length} attempts)`);
    assert.ok(attempts.every(isError));
    assert.equal(root(spans).attributes['eshop.checkout.failure'], 'delivery_timeout');
    assert.equal(await inStock(), before);
    assert.equal(await paymentStatus(orderIdOf(spans)), 'refunded');
  });

  it('billing down: 503 with Retry-After, the stock released', async () => {
    const before = await inStock();
    await ctx.stack.stopService('billing');
    try {
      const failed = await failingCheckout();
      assert.equal(failed.status, 503);
      assert.ok(failed.headers.get('retry-after'));
      const spans = await traceWith(failed.traceId, ['eshop: compensate inventory', 'inventory: POST /releaseOrder']);
      assert.equal(root(spans).attributes['eshop.checkout.failure'], 'billing_unreachable');
      // Nothing reached billing, so there is no charge to refund.
      assert.deepEqual(compensations(spans), ['compensate inventory']);
      assert.equal(await inStock(), before);
    } finally {
      await ctx.stack.startService('billing');
    }
  });

  it('payment declined by the environment setting alone, visible as such on the span', async () => {
    await ctx.stack.stopService('billing');
    await ctx.stack.startService('billing', { FAULT_PAYMENT_DECLINE_PERCENT: '100' });
    try {
      const failed = await failingCheckout();
      assert.equal(failed.status, 402);
      const spans = await traceWith(failed.traceId, ['billing: POST /payment', 'eshop: compensate inventory']);
      assert.equal(one(spans, 'billing', 'POST /payment').attributes['eshop.fault.source'], 'env');
    } finally {
      await ctx.stack.stopService('billing');
      await ctx.stack.startService('billing');
    }
  });

  it("e-mail failing: the checkout succeeds, notification's span shows the fault as ERROR, the event is dead-lettered", async () => {
    const placed = await checkout(ctx.stack, ORDER, { 'x-fault': 'email-fails' });
    const spans = await traceWith(placed.traceId, ['notification: POST /sendEmail']);
    const send = one(spans, 'notification', 'POST /sendEmail');
    assert.equal(send.attributes['eshop.fault'], 'email-fails');
    assert.ok(isError(send));
    // Every attempt failed: once the event is in the dead-letter topic, no e-mail can follow.
    const letter = await deadLetters.ofOrder(placed.orderId);
    assert.equal(letter.headers?.['x-dlq-reason']?.toString(), 'retries-exhausted');
    assert.deepEqual(await emailsFor(ctx.stack, placed.orderId), []);
  });

  it("Kafka down: the checkout succeeds, its event waits in the outbox, and the e-mail follows in the checkout's trace once the broker is back", async () => {
    await ctx.stack.stopKafka();
    const placed = await checkout(ctx.stack, ORDER).finally(() => ctx.stack.startKafka());
    const [email] = await poll(
      `the e-mail for ${placed.orderId}`,
      () => emailsFor(ctx.stack, placed.orderId),
      (emails) => emails.length === 1,
      60_000,
    );
    assert.equal(email.traceId, placed.traceId);
    const spans = await traceWith(placed.traceId, ['eshop: send orders', 'kafka-consumer: process orders']);
    // Every attempt of the outbox is a PRODUCER span under the checkout: those while the broker was down failed,
    // and the consumer span hangs from the one that got through.
    const sends = spans.filter((span) => span.service === 'eshop' && span.name === 'send orders');
    assert.ok(
      sends.every((send) => send.parentSpanId === root(spans).spanId),
      'each attempt is a child of the checkout',
    );
    const delivered = sends.find((send) => send.spanId === one(spans, 'kafka-consumer', 'process orders').parentSpanId);
    assert.ok(delivered && !isError(delivered), 'the consumer span is a child of the attempt that got through');
    const failed = sends.filter((send) => send !== delivered);
    assert.ok(failed.length > 0 && failed.every(isError), 'the attempts while the broker was down are ERROR');
  });
});
