import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, beforeEach, describe, it } from 'node:test';
import { SpanStatusCode } from '@opentelemetry/api';
import type { OrderPlaced } from '@eshop/events';
import { requestedFaults } from '@eshop/faults';
import { UpstreamError, type RunningServer } from '@eshop/http';
import { assertProblem, commonBadInputs, itAnswersBadInputs, recordSpans, send, serveWithSpans } from '@eshop/testing';
import { createApp } from '../src/app';
import { MAX_UNITS_PER_ORDER } from '../src/api';
import { Checkout, type CheckoutDependencies } from '../src/checkout';

const ORDER = { email: 'ada@example.com', items: [{ sku: 'SKU-1', quantity: 2 }] };

type Failure = Error | undefined;

/**
 * In-memory inventory, billing, delivery and outbox that log every call and fail when told to (`refund` fails
 * `refundFailures` times), beside eshop's SQLite file at `db` (in memory unless told).
 */
function fakes(db = ':memory:') {
  const calls: string[] = [];
  const faultsSeen: unknown[] = [];
  const stored: OrderPlaced[] = [];
  const fail: { inventory?: Failure; billing?: Failure; delivery?: Failure; outbox?: Failure } = {};
  const pending = { charge: undefined as Promise<never> | undefined, refundFailures: 0 };
  // Fails by rejecting, never by throwing, as a real client does.
  const run = <T>(name: string, failure: Failure, result: T): Promise<T> => {
    calls.push(name);
    faultsSeen.push(requestedFaults());
    return failure ? Promise.reject(failure) : Promise.resolve(result);
  };
  const inventory = {
    createOrder: ({ orderId }) =>
      run('inventory.createOrder', fail.inventory, {
        reservationId: 'r',
        orderId,
        items: [],
        total: 49.8,
        currency: 'EUR',
      }),
    releaseOrder: (orderId) => run('inventory.releaseOrder', undefined, { orderId, status: 'released' as const }),
  } satisfies CheckoutDependencies['inventory'];
  const billing = {
    charge: ({ orderId, amount, currency }) =>
      pending.charge ??
      run('billing.charge', fail.billing, { paymentId: 'p', orderId, amount, currency, status: 'charged' as const }),
    refund: (orderId) =>
      run('billing.refund', pending.refundFailures-- > 0 ? new Error('billing away') : undefined, {
        orderId,
        status: 'refunded' as const,
      }),
  } satisfies CheckoutDependencies['billing'];
  const delivery = {
    arrangeDelivery: ({ orderId }) =>
      run('delivery.arrangeDelivery', fail.delivery, {
        deliveryId: 'd',
        orderId,
        estimatedDelivery: '2030-01-01',
        status: 'scheduled' as const,
      }),
    cancelDelivery: (orderId) => run('delivery.cancelDelivery', undefined, { orderId, status: 'cancelled' as const }),
  } satisfies CheckoutDependencies['delivery'];
  // Synchronous, as the real one: a SQLite commit.
  const outbox = {
    add: (event: OrderPlaced) => {
      calls.push('outbox.add');
      faultsSeen.push(requestedFaults());
      if (fail.outbox) throw fail.outbox;
      stored.push(event);
    },
  };
  const orders = { add: () => {} };
  return {
    calls,
    faultsSeen,
    stored,
    fail,
    pending,
    inventory,
    billing,
    delivery,
    outbox,
    orders,
    db: new DatabaseSync(db),
    idempotencyRetentionMs: 60_000,
    undoRetry: { firstMs: 10, maxMs: 50 },
  };
}

/** Polls `check` until it holds, for up to five seconds. */
async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const refused = (service: string, status: number, title: string) =>
  new UpstreamError(
    service,
    'refused',
    status,
    { title, detail: `${title}!`, errors: [{ field: 'items', reason: 'x' }] },
    `${service} answered ${status}`,
  );

describe('checkout', () => {
  const spans = recordSpans();
  let services: ReturnType<typeof fakes>;
  let server: RunningServer;
  const url = () => `http://localhost:${server.port}`;
  const serverSpan = () => spans.spans().find((span) => span.name === 'POST /checkout')!;
  const compensations = () => spans.spans().filter((span) => span.name.startsWith('compensate '));

  before(async () => {
    services = fakes();
    server = await serveWithSpans(createApp(new Checkout(services), { faultHeader: true }));
  });
  after(() => server.close());
  beforeEach(() => {
    services.calls.length = 0;
    services.faultsSeen.length = 0;
    services.stored.length = 0;
    services.pending.refundFailures = 0;
    for (const key of Object.keys(services.fail) as (keyof typeof services.fail)[]) delete services.fail[key];
    spans.reset();
  });

  itAnswersBadInputs(url, [
    ...commonBadInputs('/checkout', ORDER),
    {
      name: 'a missing e-mail',
      path: '/checkout',
      request: { json: { items: ORDER.items } },
      status: 400,
      field: 'email',
    },
    {
      name: 'an invalid e-mail',
      path: '/checkout',
      request: { json: { ...ORDER, email: 'nope' } },
      status: 400,
      field: 'email',
    },
    {
      name: 'items that are not a list',
      path: '/checkout',
      request: { json: { ...ORDER, items: 'SKU-1' } },
      status: 400,
      field: 'items',
    },
    {
      name: 'a quantity of 0',
      path: '/checkout',
      request: { json: { ...ORDER, items: [{ sku: 'SKU-1', quantity: 0 }] } },
      status: 400,
      field: 'items.0.quantity',
    },
    {
      name: 'an absurd quantity',
      path: '/checkout',
      request: { json: { ...ORDER, items: [{ sku: 'SKU-1', quantity: 99999 }] } },
      status: 400,
      field: 'items.0.quantity',
    },
    {
      name: 'a SKU on two lines',
      path: '/checkout',
      request: { json: { ...ORDER, items: [...ORDER.items, { sku: ORDER.items[0].sku, quantity: 1 }] } },
      status: 400,
      field: `items.${ORDER.items.length}.sku`,
    },
    {
      name: `more than ${MAX_UNITS_PER_ORDER} units in all, none over a line's cap`,
      path: '/checkout',
      request: { json: { ...ORDER, items: ['SKU-1', 'SKU-2'].map((sku) => ({ sku, quantity: 1000 })) } },
      status: 400,
      field: 'items',
    },
    {
      name: 'an unknown fault',
      path: '/checkout',
      request: { json: ORDER, headers: { 'x-fault': 'meteor' } },
      status: 400,
      field: 'headers.x-fault.meteor',
    },
    {
      name: 'a fault setting out of range',
      path: '/checkout',
      request: { json: ORDER, headers: { 'x-fault': 'payment-declined=101' } },
      status: 400,
      field: 'headers.x-fault.payment-declined',
    },
  ]);

  it('places an order: three steps, one event, no compensation', async () => {
    const response = await send(url(), '/checkout', { json: ORDER });
    assert.equal(response.status, 201);
    assert.deepEqual(services.calls, [
      'inventory.createOrder',
      'billing.charge',
      'delivery.arrangeDelivery',
      'outbox.add',
    ]);
    assert.equal(services.stored.length, 1);
    assert.equal(compensations().length, 0);
  });

  it('answers 409 for out of stock, with nothing to undo', async () => {
    services.fail.inventory = refused('inventory', 409, 'Out of stock');
    const response = await send(url(), '/checkout', { json: ORDER });
    assertProblem(response, 409, 'items');
    assert.deepEqual(services.calls, ['inventory.createOrder']);
    assert.equal(serverSpan().status.code, SpanStatusCode.ERROR);
    assert.equal(serverSpan().attributes['eshop.checkout.failure'], 'inventory_refused');
    assert.equal(serverSpan().attributes['error.type'], 'inventory_refused');
  });

  it('answers 402 for a declined payment and releases the stock', async () => {
    services.fail.billing = refused('billing', 402, 'Payment declined');
    assertProblem(await send(url(), '/checkout', { json: ORDER }), 402);
    assert.deepEqual(services.calls, ['inventory.createOrder', 'billing.charge', 'inventory.releaseOrder']);
    assert.deepEqual(
      compensations().map((span) => span.name),
      ['compensate inventory'],
    );
    assert.equal(compensations()[0].parentSpanContext?.spanId, serverSpan().spanContext().spanId);
    assert.equal(services.stored.length, 0);
  });

  it('answers 503 with Retry-After when delivery times out, and undoes delivery, billing and inventory', async () => {
    services.fail.delivery = new UpstreamError(
      'delivery',
      'timeout',
      0,
      undefined,
      'delivery did not answer within 1000 ms',
    );
    const response = await send(url(), '/checkout', { json: ORDER });
    assertProblem(response, 503);
    assert.equal(response.headers.get('retry-after'), '5');
    assert.deepEqual(services.calls.slice(3), ['delivery.cancelDelivery', 'billing.refund', 'inventory.releaseOrder']);
    assert.deepEqual(
      compensations().map((span) => span.name),
      ['compensate delivery', 'compensate billing', 'compensate inventory'],
    );
    assert.equal(serverSpan().attributes['eshop.checkout.failure'], 'delivery_timeout');
    assert.equal(services.stored.length, 0);
  });

  it('answers 503 when billing cannot be reached, and releases the stock', async () => {
    services.fail.billing = new UpstreamError(
      'billing',
      'unreachable',
      0,
      undefined,
      'billing did not answer (ECONNREFUSED)',
    );
    assertProblem(await send(url(), '/checkout', { json: ORDER }), 503);
    // Nothing reached billing: only the reservation is undone.
    assert.deepEqual(services.calls.slice(2), ['inventory.releaseOrder']);
    assert.equal(serverSpan().attributes['eshop.checkout.failure'], 'billing_unreachable');
  });

  it('also refunds when billing failed mid-way, since it may have charged', async () => {
    services.fail.billing = new UpstreamError('billing', 'failed', 0, undefined, 'billing did not answer (ECONNRESET)');
    assertProblem(await send(url(), '/checkout', { json: ORDER }), 503);
    assert.deepEqual(services.calls.slice(2), ['billing.refund', 'inventory.releaseOrder']);
  });

  it('answers 503 when the outbox cannot store the event, and undoes every step', async () => {
    services.fail.outbox = new Error('database or disk is full');
    const response = await send(url(), '/checkout', { json: ORDER });
    assertProblem(response, 503);
    assert.equal(response.headers.get('retry-after'), '5');
    assert.deepEqual(services.calls.slice(4), ['delivery.cancelDelivery', 'billing.refund', 'inventory.releaseOrder']);
    assert.equal(serverSpan().attributes['eshop.checkout.failure'], 'checkout_failed');
    assert.equal(services.stored.length, 0);
  });

  it('answers GET /checkout 405, Allow: POST, and places nothing', async () => {
    const response = await send(url(), '/checkout');
    assertProblem(response, 405);
    assert.equal(response.headers.get('allow'), 'POST');
    assert.deepEqual(services.calls, []);
  });

  it('places an order once per Idempotency-Key: a repeat, in sequence or at once, gets the first answer', async () => {
    const key = { 'idempotency-key': '"key-1"' };
    const [first, concurrent] = await Promise.all([
      send(url(), '/checkout', { json: ORDER, headers: key }),
      send(url(), '/checkout', { json: ORDER, headers: key }),
    ]);
    const later = await send(url(), '/checkout', { json: ORDER, headers: key });
    assert.equal(first.status, 201);
    for (const repeat of [concurrent, later]) {
      assert.equal(repeat.status, 201);
      assert.deepEqual(repeat.body, first.body);
    }
    assert.equal(services.stored.length, 1, 'one order');
    assert.equal(services.calls.filter((call) => call === 'billing.charge').length, 1, 'one charge');
    const replayed = spans.spans().filter((span) => span.attributes['eshop.idempotency.replayed'] === true);
    assert.equal(replayed.length, 2);

    const other = await send(url(), '/checkout', { json: { ...ORDER, email: 'grace@example.com' }, headers: key });
    assertProblem(other, 422, 'headers.idempotency-key');
    assert.equal(services.stored.length, 1);
  });

  it('replays a refusal for its key, but runs a checkout that failed for want of a service again', async () => {
    services.fail.billing = refused('billing', 402, 'Payment declined');
    const declined = { 'idempotency-key': 'declined' };
    assertProblem(await send(url(), '/checkout', { json: ORDER, headers: declined }), 402);
    delete services.fail.billing;
    assertProblem(await send(url(), '/checkout', { json: ORDER, headers: declined }), 402);
    assert.equal(services.calls.filter((call) => call === 'billing.charge').length, 1);

    services.fail.delivery = new UpstreamError('delivery', 'timeout', 0, undefined, 'delivery timed out');
    const unavailable = { 'idempotency-key': 'unavailable' };
    assertProblem(await send(url(), '/checkout', { json: ORDER, headers: unavailable }), 503);
    delete services.fail.delivery;
    assert.equal((await send(url(), '/checkout', { json: ORDER, headers: unavailable })).status, 201);
  });

  it('refuses an Idempotency-Key that is empty or too long', async () => {
    for (const key of ['""', 'k'.repeat(256)]) {
      const response = await send(url(), '/checkout', { json: ORDER, headers: { 'idempotency-key': key } });
      assertProblem(response, 400, 'headers.idempotency-key');
    }
    assert.deepEqual(services.calls, []);
  });

  it('tries an undo that failed again until it succeeds', async () => {
    services.pending.refundFailures = 2;
    services.fail.delivery = new UpstreamError('delivery', 'failed', 503, undefined, 'delivery answered 503');
    assertProblem(await send(url(), '/checkout', { json: ORDER }), 503);
    await until('the refund', () => services.calls.filter((call) => call === 'billing.refund').length === 3);
    const undo = services.db.prepare('SELECT count(*) AS left FROM checkouts');
    await until('the checkout to be undone', () => Number(undo.get()?.left) === 0);
    const failed = compensations().filter((span) => span.status.code === SpanStatusCode.ERROR);
    assert.equal(failed.length, 2);
  });

  it('carries x-fault to every call as baggage, and notes it on the checkout span', async () => {
    await send(url(), '/checkout', { json: ORDER, headers: { 'x-fault': 'delivery-slow=10' } });
    assert.deepEqual(services.faultsSeen, Array(4).fill({ 'delivery-slow': 10 }));
    assert.equal(serverSpan().attributes['eshop.fault.requested'], 'delivery-slow=10');
  });

  it('drops an eshop.fault.requested baggage entry sent from outside when there is no x-fault', async () => {
    await send(url(), '/checkout', { json: ORDER, headers: { baggage: 'eshop.fault.requested=payment-declined' } });
    assert.deepEqual(services.faultsSeen[0], {});
  });
});

describe('checkout with per-request faults disabled', () => {
  let services: ReturnType<typeof fakes>;
  let server: RunningServer;
  before(async () => {
    services = fakes();
    server = await serveWithSpans(createApp(new Checkout(services)));
  });
  after(() => server.close());

  it('ignores x-fault and any eshop.fault.requested baggage', async () => {
    const response = await send(`http://localhost:${server.port}`, '/checkout', {
      json: ORDER,
      headers: { 'x-fault': 'payment-declined', baggage: 'eshop.fault.requested=payment-declined' },
    });
    assert.equal(response.status, 201);
    assert.deepEqual(services.faultsSeen[0], {});
  });
});

describe('checkout after a crash', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'eshop-checkout-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('undoes, at the next start, every step a checkout cut short had begun, and frees its key', async () => {
    const path = join(dir, 'eshop.db');
    const crashed = fakes(path);
    // The charge is sent and never answered: then eshop dies.
    crashed.pending.charge = new Promise<never>(() => {});
    const key = { 'idempotency-key': 'crashed' };
    const server = await serveWithSpans(createApp(new Checkout(crashed)));
    const cutShort = send(`http://localhost:${server.port}`, '/checkout', { json: ORDER, headers: key }).catch(
      () => undefined,
    );
    await until('the charge', () => crashed.pending.charge !== undefined && crashed.calls.length === 1);
    await server.close();
    await cutShort;

    const restarted = fakes(path);
    const checkout = new Checkout(restarted);
    assert.equal(checkout.recover(), 1, 'one checkout left unfinished');
    await until('both undos', () => restarted.calls.length === 2);
    assert.deepEqual(restarted.calls.toSorted(), ['billing.refund', 'inventory.releaseOrder']);
    const again = await serveWithSpans(createApp(checkout));
    try {
      const response = await send(`http://localhost:${again.port}`, '/checkout', { json: ORDER, headers: key });
      assert.equal(response.status, 201, 'the key runs a new checkout');
    } finally {
      await again.close();
      await checkout.close();
    }
  });

  it('finishes at the next start an undo that was still failing when eshop stopped', async () => {
    const path = join(dir, 'undoing.db');
    const stopped = fakes(path);
    stopped.pending.refundFailures = Infinity;
    stopped.fail.delivery = new UpstreamError('delivery', 'failed', 503, undefined, 'delivery answered 503');
    const first = new Checkout(stopped);
    const server = await serveWithSpans(createApp(first));
    assertProblem(await send(`http://localhost:${server.port}`, '/checkout', { json: ORDER }), 503);
    // Retried, and still failing, when eshop stops.
    await until('a retry', () => stopped.calls.filter((call) => call === 'billing.refund').length >= 2);
    await first.close();
    await server.close();

    const restarted = fakes(path);
    const checkout = new Checkout(restarted);
    assert.equal(checkout.recover(), 1);
    await until('the undos', () => restarted.calls.length === 2);
    assert.deepEqual(restarted.calls, ['billing.refund', 'inventory.releaseOrder']);
    const left = restarted.db.prepare('SELECT count(*) AS left FROM checkouts');
    await until('the checkout to be undone', () => Number(left.get()?.left) === 0);
    await checkout.close();
  });
});
