import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SpanStatusCode } from '@opentelemetry/api';
import { faultFromEnv } from '@eshop/faults';
import type { RunningServer } from '@eshop/http';
import { assertProblem, commonBadInputs, itAnswersBadInputs, recordSpans, send, serveWithSpans } from '@eshop/testing';
import type { SentEmail } from '../src/api';
import { createApp } from '../src/app';
import { Mailbox } from '../src/mailbox';

const EMAIL = { orderId: 'order-1', to: 'ada@example.com', subject: 'Your order', body: 'Thank you.' };

describe('notification', () => {
  const spans = recordSpans();
  let server: RunningServer;
  const url = () => `http://localhost:${server.port}`;
  before(async () => {
    server = await serveWithSpans(
      createApp(new Mailbox(':memory:', faultFromEnv('email-fails', { FAULT_INJECTION_HEADER: 'enabled' }))),
    );
  });
  after(() => server.close());

  itAnswersBadInputs(url, [
    ...commonBadInputs('/sendEmail', EMAIL),
    {
      name: 'an invalid address',
      path: '/sendEmail',
      request: { json: { ...EMAIL, to: 'not-an-address' } },
      status: 400,
      field: 'to',
    },
    {
      name: 'a missing subject',
      path: '/sendEmail',
      request: { json: { ...EMAIL, subject: undefined } },
      status: 400,
      field: 'subject',
    },
    {
      name: 'an overlong body',
      path: '/sendEmail',
      request: { json: { ...EMAIL, body: 'x'.repeat(10_001) } },
      status: 400,
      field: 'body',
    },
    { name: 'a limit of 0', path: '/emails?limit=0', request: {}, status: 400, field: 'limit' },
    { name: 'a limit that is not a number', path: '/emails?limit=many', request: {}, status: 400, field: 'limit' },
  ]);

  it('sends one e-mail per order', async () => {
    assert.equal((await send(url(), '/sendEmail', { json: EMAIL })).status, 201);
    assert.equal((await send(url(), '/sendEmail', { json: EMAIL })).status, 200);
    assert.equal(((await send(url(), `/emails?orderId=${EMAIL.orderId}`)).body as SentEmail[]).length, 1);
  });

  it('fails to send when a request asks for the fault: 503 with Retry-After, nothing sent, the span ERROR', async () => {
    spans.reset();
    const response = await send(url(), '/sendEmail', {
      json: { ...EMAIL, orderId: 'failing' },
      headers: { baggage: 'eshop.fault.requested=email-fails' },
    });
    assertProblem(response, 503);
    assert.equal(response.headers.get('retry-after'), '1');
    assert.deepEqual((await send(url(), '/emails?orderId=failing')).body, []);
    const span = spans.spans().find((s) => s.name === 'POST /sendEmail');
    assert.equal(span?.attributes['eshop.fault'], 'email-fails');
    assert.equal(span?.attributes['error.type'], 'email_send_failed');
    assert.equal(span?.status.code, SpanStatusCode.ERROR);
    // The address stays out of spans.
    assert.doesNotMatch(JSON.stringify(span?.attributes), /@example\.com/);
  });
});

describe('Mailbox', () => {
  const email = (orderId: string) => ({ ...EMAIL, orderId });

  it('keeps its e-mails in its file: a new process on the same file answers a repeat with the first e-mail', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eshop-mailbox-'));
    try {
      const path = join(dir, 'ledger', 'notification.db');
      // The first one is never closed, as after a SIGKILL: what `send` returned must already be on disk.
      const sent = new Mailbox(path).send(email('order-1'), 'trace-1').email;
      const reopened = new Mailbox(path);
      assert.deepEqual(reopened.send(email('order-1'), 'trace-2'), { email: sent, duplicate: true });
      assert.deepEqual(reopened.list(10), [sent]);
      reopened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lists the newest first, at most `limit` of them, and one order by its id', () => {
    const mailbox = new Mailbox(':memory:');
    for (const orderId of ['order-a', 'order-b', 'order-c']) mailbox.send(email(orderId), 'trace');
    assert.deepEqual(
      mailbox.list(2).map((sent) => sent.orderId),
      ['order-c', 'order-b'],
    );
    assert.deepEqual(
      mailbox.list(10, 'order-a').map((sent) => sent.orderId),
      ['order-a'],
    );
    assert.deepEqual(mailbox.list(10, 'order-z'), []);
    mailbox.close();
  });
});
