import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SpanStatusCode } from '@opentelemetry/api';
import { faultFromEnv } from '@eshop/faults';
import type { RunningServer } from '@eshop/http';
import express from 'express';
import { assertProblem, commonBadInputs, itAnswersBadInputs, recordSpans, send, serveWithSpans } from '@eshop/testing';
import type { Payment } from '../src/api';
import { createApp } from '../src/app';
import { createBillingClient } from '../src/client';
import { Payments } from '../src/payments';

const CHARGE = { orderId: 'order-1', amount: 49.8, currency: 'EUR' };

describe('billing', () => {
  const spans = recordSpans();
  let server: RunningServer;
  const url = () => `http://localhost:${server.port}`;
  before(async () => {
    server = await serveWithSpans(
      createApp(new Payments(':memory:', faultFromEnv('payment-declined', { FAULT_INJECTION_HEADER: 'enabled' }))),
    );
  });
  after(() => server.close());

  itAnswersBadInputs(url, [
    ...commonBadInputs('/payment', CHARGE),
    ...commonBadInputs('/refund', { orderId: 'o' }),
    {
      name: 'a missing amount',
      path: '/payment',
      request: { json: { orderId: 'o', currency: 'EUR' } },
      status: 400,
      field: 'amount',
    },
    {
      name: 'a zero amount',
      path: '/payment',
      request: { json: { ...CHARGE, amount: 0 } },
      status: 400,
      field: 'amount',
    },
    {
      name: 'an absurd amount',
      path: '/payment',
      request: { json: { ...CHARGE, amount: 1e12 } },
      status: 400,
      field: 'amount',
    },
    {
      name: 'an amount as text',
      path: '/payment',
      request: { json: { ...CHARGE, amount: '10' } },
      status: 400,
      field: 'amount',
    },
    {
      name: 'a bad currency',
      path: '/payment',
      request: { json: { ...CHARGE, currency: 'EURO' } },
      status: 400,
      field: 'currency',
    },
    {
      name: 'an overlong order id',
      path: '/payment',
      request: { json: { ...CHARGE, orderId: 'x'.repeat(65) } },
      status: 400,
      field: 'orderId',
    },
    { name: 'an unknown payment', path: '/payment/nope', request: {}, status: 404 },
  ]);

  it('answers a repeated charge with the first payment, and a refund marks the charge refunded', async () => {
    const first = await send(url(), '/payment', { json: CHARGE });
    const repeated = await send(url(), '/payment', { json: CHARGE });
    assert.equal(first.status, 201);
    assert.deepEqual(repeated.body, first.body);
    const refund = await send(url(), '/refund', { json: { orderId: CHARGE.orderId } });
    assert.deepEqual(refund.body, { orderId: CHARGE.orderId, status: 'refunded' });
    const payment = (await send(url(), `/payment/${CHARGE.orderId}`)).body as Payment;
    assert.equal(payment.paymentId, (first.body as Payment).paymentId);
    assert.equal(payment.status, 'refunded');
  });

  it('refuses a charge that arrives after its order was refunded (a timed-out call)', async () => {
    assert.deepEqual((await send(url(), '/refund', { json: { orderId: 'late' } })).body, {
      orderId: 'late',
      status: 'nothing-charged',
    });
    assertProblem(await send(url(), '/payment', { json: { ...CHARGE, orderId: 'late' } }), 409, 'orderId');
    assert.equal((await send(url(), '/payment/late')).status, 404);
  });

  it('declines when a request asks for the fault: 402, nothing charged, the span ERROR', async () => {
    spans.reset();
    const response = await send(url(), '/payment', {
      json: { ...CHARGE, orderId: 'declined' },
      headers: { baggage: 'eshop.fault.requested=payment-declined' },
    });
    assertProblem(response, 402);
    assert.equal((await send(url(), '/payment/declined')).status, 404);
    const span = spans.spans().find((s) => s.name === 'POST /payment');
    assert.equal(span?.attributes['eshop.fault'], 'payment-declined');
    assert.equal(span?.attributes['eshop.fault.source'], 'header');
    assert.equal(span?.attributes['error.type'], 'payment_declined');
    assert.equal(span?.status.code, SpanStatusCode.ERROR);
  });

  it('declines by the environment setting alone', async () => {
    const declining = await serveWithSpans(
      createApp(new Payments(':memory:', faultFromEnv('payment-declined', { FAULT_PAYMENT_DECLINE_PERCENT: 100 }))),
    );
    try {
      assertProblem(await send(`http://localhost:${declining.port}`, '/payment', { json: CHARGE }), 402);
    } finally {
      await declining.close();
    }
  });
});

describe("billing's client", () => {
  it('charges once when it retries a charge whose first answer came too late', async () => {
    const payments = new Payments(':memory:');
    const charged: string[] = [];
    const charge = payments.charge.bind(payments);
    payments.charge = (request) => {
      const payment = charge(request);
      charged.push(payment.paymentId);
      return payment;
    };
    // The first attempt is charged, but its answer is held past the client's timeout, so the client tries again.
    let attempts = 0;
    const front = express();
    front.use((_req, res, next) => {
      if (++attempts === 1) {
        const json = res.json.bind(res);
        res.json = (body: unknown) => {
          setTimeout(() => json(body), 500);
          return res;
        };
      }
      next();
    });
    front.use(createApp(payments));
    const server = await serveWithSpans(front);
    try {
      const client = createBillingClient(`http://localhost:${server.port}`, { timeoutMs: 200, retries: 2 });
      const payment = await client.charge({ ...CHARGE, orderId: 'retried' });
      assert.equal(attempts, 2, 'the client retried');
      assert.equal(charged.length, 2, 'both attempts reached billing');
      assert.deepEqual(charged, [payment.paymentId, payment.paymentId], 'one payment, answered twice');
    } finally {
      await server.close();
    }
  });
});

describe('Payments in its file, across a restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'billing-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('returns the first charge again, and refuses an order refunded, after reopening the file', () => {
    const path = join(dir, 'billing.db');
    const first = new Payments(path);
    const charged = first.charge(CHARGE);
    assert.deepEqual(first.refund('refunded-first'), { orderId: 'refunded-first', status: 'nothing-charged' });
    first.close();

    const second = new Payments(path);
    assert.deepEqual(second.charge(CHARGE), charged, 'the first charge, not a second one');
    assert.throws(() => second.charge({ ...CHARGE, orderId: 'refunded-first' }), { status: 409 });
    assert.deepEqual(second.refund(CHARGE.orderId), { orderId: CHARGE.orderId, status: 'refunded' });
    second.close();
    const again = new Payments(path);
    assert.equal(again.find(CHARGE.orderId)?.status, 'refunded');
    assert.throws(() => again.charge(CHARGE), { status: 409 });
    again.close();
  });
});
