import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { TraceSpan } from '@eshop/jaeger-query';
import { REPO_ROOT } from '@eshop/scripts/paths';
import {
  checkout,
  DeadLetters,
  emailsByOrder,
  emailsFor,
  poll,
  traceWithSpans,
  useStack,
  type PlacedOrder,
} from '../src/fixture';

// kafka-consumer is started by the tests, behind the stand-in proxy below.
const context = useStack('dead-letters', {
  services: ['inventory', 'billing', 'delivery', 'notification', 'eshop'],
});

/** A failed answer of notification's own is repeated this often before its event is dead-lettered. */
const CONSUMER_ENV = {
  NOTIFICATION_MAX_ATTEMPTS: '3',
  NOTIFICATION_RETRY_BASE_MS: '100',
  NOTIFICATION_RETRY_MAX_MS: '1000',
};
const PROXY_OUTAGE_MS = 20_000;

/**
 * A stand-in for notification's sidecar, between kafka-consumer and notification: it passes every request on,
 * except while `failingUntil` is ahead, when it answers 503 itself, as Envoy does for an upstream that is down
 * ("no healthy upstream", plain text).
 */
class StandInProxy {
  failingUntil = 0;
  proxyAnswers = 0;
  private readonly server: Server;

  constructor(upstream: () => string) {
    this.server = createServer((req, res) => {
      if (Date.now() < this.failingUntil) {
        this.proxyAnswers++;
        res.writeHead(503, { 'content-type': 'text/plain' }).end('no healthy upstream');
        return;
      }
      const forward = request(new URL(req.url!, upstream()), { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
      });
      forward.on('error', () => res.writeHead(502, { 'content-type': 'text/plain' }).end('upstream reset'));
      req.pipe(forward);
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** `pnpm dlq ...`, against the stack's Kafka. */
async function dlq(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(REPO_ROOT, 'scripts/dist/src/cli/dlq.js'), ...args],
    {
      env: { ...process.env, KAFKA_BROKERS: context.stack.kafkaBrokers.join(',') },
    },
  );
  return stdout;
}

describe('dead letters: a proxy answer is not one, and what is dead-lettered can be replayed', () => {
  const proxy = new StandInProxy(() => context.stack.url('notification'));
  let deadLetters: DeadLetters;

  before(async () => {
    const proxyUrl = await proxy.listen();
    await context.stack.startService('kafka-consumer', { ...CONSUMER_ENV, NOTIFICATION_URL: proxyUrl });
    deadLetters = await DeadLetters.read(context.stack);
  });
  after(async () => {
    await deadLetters?.close();
    await proxy.close();
  });

  it("notification's proxy answers 503 for 20 s: nothing is dead-lettered, and every e-mail is sent after", async () => {
    proxy.failingUntil = Date.now() + PROXY_OUTAGE_MS;
    const orders: PlacedOrder[] = [];
    for (let i = 0; i < 10; i++) orders.push(await checkout(context.stack));
    const sent = await poll(
      `e-mails for all ${orders.length} orders`,
      () => emailsByOrder(context.stack),
      (emails) => orders.every(({ orderId }) => emails.has(orderId)),
      PROXY_OUTAGE_MS + 60_000,
    );
    assert.ok(proxy.proxyAnswers > orders.length, `the proxy answered 503 ${proxy.proxyAnswers} times`);
    for (const { orderId } of orders) {
      assert.ok(Date.parse(sent.get(orderId)!.sentAt) >= proxy.failingUntil, `${orderId} e-mailed after the outage`);
      assert.equal((await emailsFor(context.stack, orderId)).length, 1, `one e-mail for ${orderId}`);
    }
    const keys = new Set(orders.map(({ orderId }) => orderId));
    assert.deepEqual(
      deadLetters.messages.filter((message) => keys.has(message.key?.toString() ?? '')),
      [],
      'no order dead-lettered',
    );
    console.log(
      `proxy 503s: ${proxy.proxyAnswers} proxy answers, ${orders.length} orders e-mailed once, none dead-lettered`,
    );
  });

  it('an event dead-lettered, then replayed with pnpm dlq, is e-mailed once, in its checkout trace', async () => {
    // notification's own 503s (problem+json): its mail server is down, and the event is dead-lettered.
    await context.stack.stopService('notification');
    await context.stack.startService('notification', { FAULT_EMAIL_FAILURE_PERCENT: '100' });
    const placed = await checkout(context.stack);
    const letter = await deadLetters.ofOrder(placed.orderId);
    assert.equal(letter.headers?.['x-dlq-reason']?.toString(), 'retries-exhausted');
    await context.stack.stopService('notification');
    await context.stack.startService('notification');
    assert.deepEqual(await emailsFor(context.stack, placed.orderId), [], 'not e-mailed before the replay');

    const listed = (await dlq()).split('\n').find((line) => line.includes(placed.orderId));
    assert.ok(listed, 'pnpm dlq lists the dead letter');
    assert.match(listed, /retries-exhausted/);
    assert.ok(listed.includes(`trace ${placed.traceId}`), `its trace id: ${listed}`);

    await dlq('replay', 'orders.DLQ', placed.orderId);
    const [email] = await poll(
      `the e-mail of ${placed.orderId}`,
      () => emailsFor(context.stack, placed.orderId),
      (emails) => emails.length > 0,
    );
    assert.equal(email.traceId, placed.traceId, 'e-mailed in its checkout trace');

    // Replayed again, by its place this time: still the one e-mail.
    await dlq('replay', 'orders.DLQ', placeOf(listed));
    // Each consumption, the first and both replays, is a CONSUMER span under the checkout's PRODUCER span, ended
    // once its call to notification was answered.
    const consumers = (spans: TraceSpan[]) =>
      spans.filter((span) => span.service === 'kafka-consumer' && span.kind === 'consumer');
    const spans = await poll(
      `three kafka-consumer spans in trace ${placed.traceId}`,
      () => traceWithSpans(context.jaeger, placed.traceId, 1),
      (found) => consumers(found).length >= 3,
    );
    const producer = spans.find((span) => span.service === 'eshop' && span.kind === 'producer')!;
    for (const consumer of consumers(spans))
      assert.equal(consumer.parentSpanId, producer.spanId, 'a consumer span is a child of the checkout producer span');
    assert.deepEqual(await emailsFor(context.stack, placed.orderId), [email], 'e-mailed once');
  });
});

/** The `partition:offset` of a `pnpm dlq` line (`orders.DLQ 3:12  order ...`). */
function placeOf(line: string): string {
  return /^\s*\S+ (\d+:\d+)/.exec(line)![1];
}
