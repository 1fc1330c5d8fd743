import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

describe('Stock in its file, across a restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'inventory-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const units = (stock: Stock) => stock.catalog().find((entry) => entry.sku === 'SKU-1')!.inStock;

  it('keeps the stock and the reservations as the last answer left them, and refuses an order released', () => {
    const path = join(dir, 'inventory.db');
    const first = new Stock(path, 10);
    const reserved = first.createOrder(ORDER.orderId, ORDER.items);
    first.releaseOrder('released-first');
    first.close();

    const second = new Stock(path, 10);
    assert.equal(units(second), 8, 'the initial stock fills a new file only');
    assert.deepEqual(second.createOrder(ORDER.orderId, ORDER.items), reserved, 'the first reservation');
    assert.equal(units(second), 8, 'taken once');
    assert.throws(() => second.createOrder('released-first', ORDER.items), { status: 409 });
    second.releaseOrder(ORDER.orderId);
    second.close();

    const again = new Stock(path, 10);
    assert.equal(units(again), 10, 'put back once');
    assert.deepEqual(again.releaseOrder(ORDER.orderId), { orderId: ORDER.orderId, status: 'released' });
    assert.equal(units(again), 10);
    again.close();
  });

  it('takes all of an order or nothing: a refused order leaves the file as it was', () => {
    const path = join(dir, 'all-or-nothing.db');
    const stock = new Stock(path, 5);
    const tooMany = [
      { sku: 'SKU-1', quantity: 2 },
      { sku: 'SKU-2', quantity: 6 },
    ];
    assert.throws(() => stock.createOrder('too-many', tooMany), { status: 409 });
    stock.close();
    const reopened = new Stock(path, 5);
    assert.equal(units(reopened), 5);
    assert.equal(reopened.createOrder('too-many', [{ sku: 'SKU-1', quantity: 2 }]).items.length, 1);
    reopened.close();
  });
});
