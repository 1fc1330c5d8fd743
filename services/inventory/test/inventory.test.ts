import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SpanStatusCode } from '@opentelemetry/api';
import { faultFromEnv } from '@eshop/faults';
import type { RunningServer } from '@eshop/http';
import { assertProblem, commonBadInputs, itAnswersBadInputs, recordSpans, send, serveWithSpans } from '@eshop/testing';
import type { CatalogEntry, Reservation } from '../src/api';
import { createApp } from '../src/app';
import { Stock } from '../src/stock';

const ORDER = { orderId: 'order-1', items: [{ sku: 'SKU-1', quantity: 2 }] };

async function inStock(url: string, sku: string): Promise<number> {
  const catalog = (await send(url, '/catalog')).body as CatalogEntry[];
  return catalog.find((entry) => entry.sku === sku)!.inStock;
}

describe('inventory', () => {
  const spans = recordSpans();
  let server: RunningServer;
  const url = () => `http://localhost:${server.port}`;
  before(async () => {
    const fault = faultFromEnv('out-of-stock', { FAULT_INJECTION_HEADER: 'enabled' });
    server = await serveWithSpans(createApp(new Stock(':memory:', 10, fault)));
  });
  after(() => server.close());

  itAnswersBadInputs(url, [
    ...commonBadInputs('/createOrder', ORDER),
    ...commonBadInputs('/releaseOrder', { orderId: 'o' }),
    {
      name: 'a missing order id',
      path: '/createOrder',
      request: { json: { items: ORDER.items } },
      status: 400,
      field: 'orderId',
    },
    {
      name: 'no items',
      path: '/createOrder',
      request: { json: { orderId: 'o', items: [] } },
      status: 400,
      field: 'items',
    },
    {
      name: 'a quantity of 0',
      path: '/createOrder',
      request: { json: { orderId: 'o', items: [{ sku: 'SKU-1', quantity: 0 }] } },
      status: 400,
      field: 'items.0.quantity',
    },
    {
      name: 'a negative quantity',
      path: '/createOrder',
      request: { json: { orderId: 'o', items: [{ sku: 'SKU-1', quantity: -3 }] } },
      status: 400,
      field: 'items.0.quantity',
    },
    {
      name: 'an absurd quantity',
      path: '/createOrder',
      request: { json: { orderId: 'o', items: [{ sku: 'SKU-1', quantity: 1e9 }] } },
      status: 400,
      field: 'items.0.quantity',
    },
    {
      name: 'a quantity as text',
      path: '/createOrder',
      request: { json: { orderId: 'o', items: [{ sku: 'SKU-1', quantity: '2' }] } },
      status: 400,
      field: 'items.0.quantity',
    },
    {
      name: 'an unknown SKU',
      path: '/createOrder',
      request: { json: { orderId: 'o', items: [{ sku: 'SKU-999', quantity: 1 }] } },
      status: 422,
      field: 'items.0.sku',
    },
    {
      name: 'more than it has',
      path: '/createOrder',
      request: { json: { orderId: 'o2', items: [{ sku: 'SKU-2', quantity: 11 }] } },
      status: 409,
      field: 'items',
    },
    { name: 'a release without order id', path: '/releaseOrder', request: { json: {} }, status: 400, field: 'orderId' },
  ]);

  it('reserves stock, and a release puts it back once however often it is asked', async () => {
    const before = await inStock(url(), 'SKU-1');
    const reserved = await send(url(), '/createOrder', { json: ORDER });
    assert.equal(reserved.status, 201);
    assert.equal((reserved.body as Reservation).total, 49.8);
    assert.equal(await inStock(url(), 'SKU-1'), before - 2);
    for (let i = 0; i < 2; i++) {
      const released = await send(url(), '/releaseOrder', { json: { orderId: ORDER.orderId } });
      assert.deepEqual(released.body, { orderId: ORDER.orderId, status: 'released' });
    }
    assert.equal(await inStock(url(), 'SKU-1'), before);
  });

  it('refuses a reservation that arrives after its order was released (a timed-out call)', async () => {
    const released = await send(url(), '/releaseOrder', { json: { orderId: 'late' } });
    assert.deepEqual(released.body, { orderId: 'late', status: 'nothing-reserved' });
    const before = await inStock(url(), 'SKU-3');
    assertProblem(
      await send(url(), '/createOrder', { json: { orderId: 'late', items: [{ sku: 'SKU-3', quantity: 1 }] } }),
      409,
      'orderId',
    );
    assert.equal(await inStock(url(), 'SKU-3'), before);
  });

  it('runs out of stock when a request asks for the fault, and marks its span ERROR', async () => {
    spans.reset();
    const before = await inStock(url(), 'SKU-4');
    const response = await send(url(), '/createOrder', {
      json: { orderId: 'faulty', items: [{ sku: 'SKU-4', quantity: 1 }] },
      headers: { baggage: 'eshop.fault.requested=out-of-stock%3D100' },
    });
    assertProblem(response, 409, 'items');
    assert.equal(await inStock(url(), 'SKU-4'), before);
    const span = spans.spans().find((s) => s.name === 'POST /createOrder');
    assert.equal(span?.attributes['eshop.fault'], 'out-of-stock');
    assert.equal(span?.attributes['error.type'], 'out_of_stock');
    assert.equal(span?.status.code, SpanStatusCode.ERROR);
  });
});
