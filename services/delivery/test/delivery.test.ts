import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { faultFromEnv } from '@eshop/faults';
import type { RunningServer } from '@eshop/http';
import { assertProblem, commonBadInputs, itAnswersBadInputs, recordSpans, send, serveWithSpans } from '@eshop/testing';
import type { Delivery } from '../src/api';
import { createApp } from '../src/app';
import { Schedule } from '../src/schedule';

const REQUEST = { orderId: 'order-1', items: [{ sku: 'SKU-1', quantity: 12 }] };

describe('delivery', () => {
  const spans = recordSpans();
  let server: RunningServer;
  const url = () => `http://localhost:${server.port}`;
  before(async () => {
    const schedule = new Schedule(
      ':memory:',
      faultFromEnv('delivery-slow', { FAULT_INJECTION_HEADER: 'enabled' }),
      () => new Date('2030-01-01T12:00:00Z'),
    );
    server = await serveWithSpans(createApp(schedule));
  });
  after(() => server.close());

  itAnswersBadInputs(url, [
    ...commonBadInputs('/arrangeDelivery', REQUEST),
    ...commonBadInputs('/cancelDelivery', { orderId: 'o' }),
    { name: 'no items', path: '/arrangeDelivery', request: { json: { orderId: 'o' } }, status: 400, field: 'items' },
    {
      name: 'too many items',
      path: '/arrangeDelivery',
      request: { json: { orderId: 'o', items: Array(51).fill(REQUEST.items[0]) } },
      status: 400,
      field: 'items',
    },
    {
      name: 'an empty SKU',
      path: '/arrangeDelivery',
      request: { json: { orderId: 'o', items: [{ sku: '', quantity: 1 }] } },
      status: 400,
      field: 'items.0.sku',
    },
    {
      name: 'an order id too long to be one, in the path',
      path: `/deliveries/${'x'.repeat(65)}`,
      request: {},
      status: 400,
      field: 'orderId',
    },
    {
      name: 'an order id that is a number',
      path: '/cancelDelivery',
      request: { json: { orderId: 7 } },
      status: 400,
      field: 'orderId',
    },
  ]);

  it('arranges a delivery (a day to pack, a day per ten units) and cancels it', async () => {
    const arranged = await send(url(), '/arrangeDelivery', { json: REQUEST });
    assert.equal(arranged.status, 201);
    assert.equal((arranged.body as Delivery).estimatedDelivery, '2030-01-04');
    assert.deepEqual((await send(url(), '/cancelDelivery', { json: { orderId: REQUEST.orderId } })).body, {
      orderId: REQUEST.orderId,
      status: 'cancelled',
    });
    assert.equal(((await send(url(), `/deliveries/${REQUEST.orderId}`)).body as Delivery).status, 'cancelled');
  });

  it('refuses to arrange an order cancelled before its delivery arrived (a timed-out call)', async () => {
    assert.deepEqual((await send(url(), '/cancelDelivery', { json: { orderId: 'late' } })).body, {
      orderId: 'late',
      status: 'nothing-arranged',
    });
    assertProblem(await send(url(), '/arrangeDelivery', { json: { ...REQUEST, orderId: 'late' } }), 409, 'orderId');
  });

  it('waits when a request asks for the delay, in a span of its own under the request', async () => {
    spans.reset();
    const response = await send(url(), '/arrangeDelivery', {
      json: { ...REQUEST, orderId: 'slow' },
      headers: { baggage: 'eshop.fault.requested=delivery-slow%3D30' },
    });
    assert.equal(response.status, 201);
    const server = spans.spans().find((s) => s.name === 'POST /arrangeDelivery');
    const wait = spans.spans().find((s) => s.name === 'fault delivery-slow');
    assert.equal(server?.attributes['eshop.fault'], 'delivery-slow');
    assert.equal(wait?.attributes['eshop.fault.setting'], 30);
    assert.equal(wait?.parentSpanContext?.spanId, server?.spanContext().spanId);
  });

  it('shows a delivery by order id, scheduled until dispatched, and 404 for an order it never arranged', async () => {
    await send(url(), '/arrangeDelivery', { json: { ...REQUEST, orderId: 'shown' } });
    const shown = await send(url(), '/deliveries/shown');
    assert.equal(shown.status, 200);
    assert.equal((shown.body as Delivery).status, 'scheduled');
    assertProblem(await send(url(), '/deliveries/nobody'), 404);
  });
});

describe('Schedule.dispatch', () => {
  const now = new Date('2030-01-01T12:00:00Z');
  const arranged = async () => {
    const schedule = new Schedule(':memory:', undefined, () => now);
    await schedule.arrangeDelivery(REQUEST);
    return schedule;
  };

  it('dispatches an arranged delivery once: a replayed event finds it dispatched and changes nothing', async () => {
    const schedule = await arranged();
    const first = schedule.dispatch(REQUEST.orderId);
    assert.ok(first.ok);
    assert.equal(first.repeated, false);
    assert.equal(first.delivery.status, 'dispatched');
    assert.equal(first.delivery.dispatchedAt, now.toISOString());
    const again = schedule.dispatch(REQUEST.orderId);
    assert.ok(again.ok);
    assert.equal(again.repeated, true);
    assert.deepEqual(schedule.find(REQUEST.orderId), first.delivery);
  });

  it('refuses an order it never arranged, and a cancelled one', async () => {
    const schedule = await arranged();
    assert.deepEqual(schedule.dispatch('nobody'), { ok: false, reason: 'not-arranged' });
    schedule.cancelDelivery(REQUEST.orderId);
    assert.deepEqual(schedule.dispatch(REQUEST.orderId), { ok: false, reason: 'cancelled' });
  });
});

describe('Schedule in its file, across a restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'delivery-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('dispatches after a restart what it arranged before, once, and still refuses an order cancelled', async () => {
    const path = join(dir, 'delivery.db');
    const first = new Schedule(path);
    const arranged = await first.arrangeDelivery(REQUEST);
    first.cancelDelivery('cancelled-first');
    first.close();

    const second = new Schedule(path);
    assert.deepEqual(await second.arrangeDelivery(REQUEST), arranged, 'the first delivery');
    const dispatched = second.dispatch(REQUEST.orderId);
    assert.ok(dispatched.ok && !dispatched.repeated);
    await assert.rejects(second.arrangeDelivery({ ...REQUEST, orderId: 'cancelled-first' }), { status: 409 });
    second.close();

    const again = new Schedule(path);
    const repeated = again.dispatch(REQUEST.orderId);
    assert.ok(repeated.ok && repeated.repeated, 'dispatched once');
    assert.deepEqual(again.dispatch('cancelled-first'), { ok: false, reason: 'cancelled' });
    again.close();
  });
});
