import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { SERVICES } from '@eshop/scripts';
import { CheckoutLoop, type Attempt } from '../src/checkout-loop';
import { useBrowser } from '../src/browser';
import { docker, DOT_ENV, useCompose } from '../src/compose';
import { checkout, eachEmailedOnce, emailsFor, poll, traceWithSpans } from '../src/fixture';

// docker-compose.yml as its users run it: `docker compose up --build`, then checkouts on the published ports.
// One stack for the whole file (built and started once), brought down with its volumes at the end.

/** eshop's server span, 3 × (client + callee's server), producer, consumer, consumer's client, notification's server. */
const SPANS_PER_CHECKOUT = 11;
/** How long Kafka stays away under load. */
const KAFKA_OUTAGE_MS = 15_000;

const stack = useCompose();
const browser = useBrowser();

/** Every e-mail seen so far: order id → e-mail id. A later test expects each unchanged. */
const emailed = new Map<string, string>();

/** Waits for each order's one e-mail, and keeps it for the later tests. */
async function emailedOnce(orderIds: string[]): Promise<void> {
  for (const [orderId, emailId] of await eachEmailedOnce(stack, orderIds)) emailed.set(orderId, emailId);
}

const accepted = (attempts: Attempt[]) => attempts.filter((a) => a.status === 201).map((a) => a.orderId!);

function summary(attempts: Attempt[]): string {
  const byStatus = new Map<number, number>();
  for (const { status } of attempts) byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  return [...byStatus].map(([status, count]) => `${count} × ${status || 'no answer'}`).join(', ');
}

/** Bytes from `docker stats`' figures: "45.3MiB", "1.2GiB", "512kB". */
function bytes(figure: string): number {
  const match = /^([\d.]+)\s*([KMG]i?)?B$/i.exec(figure.trim());
  if (!match) throw new Error(`not a size: ${figure}`);
  const unit = (match[2] ?? '').toUpperCase();
  const power = { '': 0, K: 1, KI: 1, M: 2, MI: 2, G: 3, GI: 3 }[unit] ?? 0;
  return Number(match[1]) * (unit.endsWith('I') ? 1024 : 1000) ** power;
}

describe('docker compose up, for real', () => {
  it('starts every container healthy; a checkout is one trace of six services in Jaeger and its e-mail', async () => {
    const containers = await stack.healthy();
    assert.deepEqual([...containers.keys()].sort(), [...SERVICES, 'jaeger', 'kafka'].sort());

    const placed = await checkout(stack);
    const spans = await traceWithSpans(stack.jaeger, placed.traceId, SPANS_PER_CHECKOUT);
    assert.equal(spans.length, SPANS_PER_CHECKOUT, spans.map((s) => `${s.service}:${s.name}`).join(', '));
    assert.deepEqual(new Set(spans.map((span) => span.service)), new Set(SERVICES));
    const producer = spans.find((span) => span.kind === 'producer' && span.service === 'eshop');
    const consumer = spans.find((span) => span.kind === 'consumer' && span.service === 'kafka-consumer');
    assert.ok(producer && consumer, 'the trace has the Kafka hop: a producer span and a consumer span');
    assert.equal(consumer.parentSpanId, producer.spanId, 'the consumer span is a child of the producer span');

    const [email, ...more] = await poll(
      'the e-mail',
      () => emailsFor(stack, placed.orderId),
      (emails) => emails.length > 0,
    );
    assert.equal(more.length, 0);
    assert.equal(email.traceId, placed.traceId, "the ledger's e-mail carries the checkout's trace id");
    emailed.set(placed.orderId, email.emailId);
  });

  it("shows an order's journey in Chromium: the storefront on eshop's published port, its trace linked to Jaeger", async () => {
    const watched = await browser.newPage();
    const { page } = watched;
    await page.goto(`${stack.url('eshop')}/`);
    await page.getByLabel('Quantity of Green tea, 100 bags').fill('1');
    await page.getByLabel('E-mail', { exact: true }).fill('ada@example.com');
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.waitForURL(/\/orders\/[0-9a-f-]{36}$/);
    await page.locator('li[data-step="email"][data-state="done"]').waitFor({ timeout: 60_000 });
    await poll(
      'the waterfall to show all six services',
      async () =>
        Promise.all(
          (await page.locator('#waterfall tr[data-service]').all()).map((row) => row.getAttribute('data-service')),
        ),
      (shown) => SERVICES.every((service) => shown.includes(service)),
    );
    const traceId = await page.locator('#trace-id').textContent();
    // Compose's JAEGER_UI_URL: Jaeger's UI where .env publishes it.
    assert.equal(
      await page.locator('#trace-id a').getAttribute('href'),
      `http://localhost:${DOT_ENV.JAEGER_UI_HOST_PORT}/trace/${traceId}`,
    );
    watched.assertStayedLocal();
    await browser.screenshot(page, 'compose-storefront-order.png');
  });

  it('runs the services as uid 1000 on a read-only root filesystem', async () => {
    for (const service of SERVICES) {
      const container = await stack.container(service);
      assert.equal(container.Config.User, '1000:1000', `${service} user`);
      assert.equal(container.HostConfig.ReadonlyRootfs, true, `${service} read-only root filesystem`);
      // What the running process really is, and what it may do.
      assert.equal((await docker(['exec', container.Id, 'id', '-u'])).trim(), '1000', `${service} uid`);
      await assert.rejects(docker(['exec', container.Id, 'touch', '/app/written']), /Read-only file system/);
    }
  });

  it('keeps every container within its memory limit over a few hundred checkouts (docker stats)', async (t) => {
    const peak = new Map<string, { used: number; limit: number }>();
    const sample = async () => {
      const lines = (await docker(['stats', '--no-stream', '--format', '{{json .}}'])).split('\n').filter(Boolean);
      for (const line of lines) {
        const { Name, MemUsage } = JSON.parse(line) as { Name: string; MemUsage: string };
        const [used, limit] = MemUsage.split('/').map(bytes);
        peak.set(Name, { used: Math.max(used, peak.get(Name)?.used ?? 0), limit });
      }
    };
    const loop = new CheckoutLoop(stack);
    try {
      while (loop.attempts.length < 300) await sample();
    } finally {
      await loop.stop();
    }
    await sample();
    await emailedOnce(accepted(loop.attempts));
    assert.equal(accepted(loop.attempts).length, loop.attempts.length, summary(loop.attempts));

    const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
    for (const [name, { used, limit }] of [...peak].sort()) {
      t.diagnostic(`${name}: peak ${mib(used)} of ${mib(limit)}`);
      assert.ok(used < limit, `${name} peaked at ${mib(used)}, its limit is ${mib(limit)}`);
    }
    for (const [service, container] of await stack.containers()) {
      assert.equal(container.State.OOMKilled, false, `${service} was killed for its memory`);
      assert.equal(container.RestartCount, 0, `${service} restarted`);
    }
  });

  it("keeps answering 201 while Kafka is away for 15 s, and e-mails every order once it's back", async (t) => {
    const loop = new CheckoutLoop(stack);
    const away = { from: 0, to: 0 };
    try {
      await loop.more(10);
      await stack.compose(['stop', 'kafka']);
      away.from = Date.now();
      // The outage itself, not a wait for something: Kafka is kept away this long under load.
      await delay(KAFKA_OUTAGE_MS);
      away.to = Date.now();
      await stack.compose(['start', 'kafka']);
      await stack.healthy();
      await loop.more(10);
    } finally {
      await loop.stop();
    }
    const during = loop.attempts.filter(({ at }) => at >= away.from && at < away.to);
    assert.ok(during.length >= 20, `${during.length} checkouts while Kafka was away`);
    assert.ok(
      during.every((attempt) => attempt.status === 201),
      `answers while Kafka was away: ${summary(during)}`,
    );
    const started = Date.now();
    await emailedOnce(accepted(loop.attempts));
    t.diagnostic(
      `${loop.attempts.length} checkouts (${during.length} while Kafka was away): ${summary(loop.attempts)}; ` +
        `all e-mailed once, the last ${Date.now() - started} ms after the load stopped`,
    );
  });

  it('restarts each service whose process is killed mid checkout loop; every accepted order is e-mailed once', async (t) => {
    const loop = new CheckoutLoop(stack);
    try {
      for (const service of SERVICES) {
        await loop.more(10);
        const before = await stack.container(service);
        // A crash: the container's process killed from within. (`docker kill` would count as a stop asked
        // for, which the restart policy leaves stopped.)
        await docker(['exec', before.Id, 'sh', '-c', 'kill -KILL -1']).catch(() => {});
        await poll(
          `${service} restarted by its restart policy`,
          () => stack.container(service),
          (after) => after.RestartCount > before.RestartCount,
          60_000,
          500,
        );
        await stack.healthy();
      }
      await loop.more(10);
    } finally {
      await loop.stop();
    }
    const placed = accepted(loop.attempts);
    await emailedOnce(placed);
    t.diagnostic(
      `${loop.attempts.length} checkouts: ${summary(loop.attempts)}; the ${placed.length} accepted e-mailed once`,
    );
  });

  it('keeps the outbox and the ledger across `docker compose down` and `up` (volumes kept)', async () => {
    const before = new Map(emailed);
    assert.ok(before.size > 0, 'e-mails were sent before');
    await stack.down(false);
    await stack.up();

    for (const [orderId, emailId] of before) {
      const emails = await emailsFor(stack, orderId);
      assert.deepEqual(
        emails.map((email) => email.emailId),
        [emailId],
        `order ${orderId}'s one e-mail, as sent before`,
      );
    }
    const placed = await checkout(stack);
    await emailedOnce([placed.orderId]);
  });
});
