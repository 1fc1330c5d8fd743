import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import type { OrderPlaced } from '@eshop/events';
import { recordSpans } from '@eshop/testing';
import type { Producer, ProducerRecord } from 'kafkajs';
import { openDataFile } from '@eshop/config';
import { OrderRecords } from '../src/orders';
import { OrderOutbox } from '../src/outbox';

const EVENT: OrderPlaced = {
  type: 'OrderPlaced',
  orderId: 'order-1',
  email: 'ada@example.com',
  items: [{ sku: 'SKU-1', quantity: 2 }],
  total: 20,
  currency: 'EUR',
  placedAt: '2026-01-01T00:00:00.000Z',
};

/**
 * A stand-in for the kafkajs producer: the outbox's storage and retries are under test here, not Kafka (the
 * e2e tests send through a real broker, and stop it). It refuses while `down`, and records what it took with
 * the trace context it was sent in.
 */
function producer() {
  const taken: { record: ProducerRecord; traceId?: string; spanId?: string }[] = [];
  const state = { down: false, taken };
  const fake = {
    send: (record: ProducerRecord) => {
      if (state.down) return Promise.reject(new Error('Connection error: connect ECONNREFUSED'));
      const parent = trace.getSpanContext(context.active());
      taken.push({ record, traceId: parent?.traceId, spanId: parent?.spanId });
      return Promise.resolve([]);
    },
  };
  return { state, producer: fake as unknown as Producer };
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('OrderOutbox', () => {
  // A tracer provider, context manager and W3C propagators, as the tracing bootstrap sets them up.
  recordSpans();
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'eshop-outbox-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("sends an event in its checkout's trace context, keyed by order id, and then forgets it", async () => {
    const { state, producer: kafka } = producer();
    const outbox = new OrderOutbox(openDataFile(join(dir, 'sent.db'), ''), kafka);
    outbox.start();
    const checkout = trace.getTracer('test').startActiveSpan('POST /checkout', (span) => {
      outbox.add(EVENT);
      span.end();
      return span.spanContext();
    });
    await until('the send', () => state.taken.length === 1);
    const [{ record, traceId, spanId }] = state.taken;
    assert.deepEqual([traceId, spanId], [checkout.traceId, checkout.spanId], 'sent as a child of the checkout');
    assert.equal(record.topic, 'orders');
    assert.equal(record.acks, -1);
    assert.deepEqual(record.messages, [{ key: 'order-1', value: JSON.stringify(EVENT) }]);
    await until('the event to be forgotten', () => outbox.pending === 0);
    await outbox.close();
  });

  it('tells which orders Kafka took, so that their records say when', async () => {
    const { state, producer: kafka } = producer();
    state.down = true;
    const db = openDataFile(join(dir, 'record.db'), '');
    const orders = new OrderRecords(db);
    const outbox = new OrderOutbox(db, kafka, (orderIds, at) => orders.published(orderIds, at));
    outbox.start();
    outbox.add(EVENT);
    orders.add(EVENT, 'trace-1');
    const { email: _personal, type: _type, ...recorded } = EVENT;
    assert.deepEqual(orders.order(EVENT.orderId), { ...recorded, traceId: 'trace-1' });
    assert.equal(orders.order('another-order'), undefined);
    state.down = false;
    await until('the event to be sent', () => orders.order(EVENT.orderId)?.publishedAt !== undefined);
    assert.equal(outbox.pending, 0);
    await outbox.close();
  });

  it('keeps what the broker did not take, across a restart, and sends it once the broker is back', async () => {
    const path = join(dir, 'kept.db');
    const first = producer();
    first.state.down = true;
    const before = new OrderOutbox(openDataFile(path, ''), first.producer);
    before.start();
    before.add(EVENT);
    before.add({ ...EVENT, orderId: 'order-2' });
    await before.close();

    const second = producer();
    second.state.down = true;
    const after = new OrderOutbox(openDataFile(path, ''), second.producer);
    assert.equal(after.pending, 2, 'both events survived the restart');
    after.start();
    second.state.down = false;
    await until('both sends', () => second.state.taken.length === 2);
    assert.deepEqual(
      second.state.taken.map(({ record }) => record.messages[0].key),
      ['order-1', 'order-2'],
    );
    await until('the outbox to empty', () => after.pending === 0);
    await after.close();
  });
});
