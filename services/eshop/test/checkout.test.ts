import assert from 'node:assert/strict';
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

/** In-memory inventory, billing, delivery and outbox that log every call and fail when told to. */
function fakes() {
  const calls: string[] = [];
  const faultsSeen: unknown[] = [];
  const stored: OrderPlaced[] = [];
  const fail: { inventory?: Failure; billing?: Failure; delivery?: Failure; outbox?: Failure } = {};
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
      run('billing.charge', fail.billing, { paymentId: 'p', orderId, amount, currency, status: 'charged' as const }),
    refund: (orderId) => run('billing.refund', undefined, { orderId, status: 'refunded' as const }),
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
  return { calls, faultsSeen, stored, fail, inventory, billing, delivery, outbox };
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
