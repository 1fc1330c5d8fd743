import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { it } from 'node:test';
import { checkout, emailsFor, ORDER, poll, useStack, type Order, type PlacedOrder } from '../src/fixture';

/**
 * eshop on a small heap, so that V8 collects garbage instead of growing into a default heap of gigabytes: the
 * resident memory then plateaus after a warm-up, and what keeps growing after it is memory that is kept. Its span
 * queue is the SDK's default size rather than the bootstrap's, so that the checkouts below fill it twice over.
 */
const context = useStack('jaeger-outage', {
  serviceEnv: { eshop: { NODE_OPTIONS: '--max-old-space-size=64', OTEL_BSP_MAX_QUEUE_SIZE: '2048' } },
});
const ONE_ITEM: Order = { email: ORDER.email, items: [{ sku: 'SKU-1', quantity: 1 }] };

/** The median wall time of `count` checkouts placed one after another, in ms. */
async function medianCheckoutMs(count: number): Promise<number> {
  const times: number[] = [];
  for (let index = 0; index < count; index++) {
    const started = performance.now();
    await checkout(context.stack, ONE_ITEM);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** Places `count` checkouts, `concurrency` at a time; returns the last one placed. */
async function checkouts(count: number, concurrency = 4): Promise<PlacedOrder> {
  let last!: PlacedOrder;
  for (let placed = 0; placed < count; placed += concurrency) {
    last = (await Promise.all(Array.from({ length: concurrency }, () => checkout(context.stack, ONE_ITEM)))).at(-1)!;
  }
  return last;
}

/** Resident memory of a service's process, in MiB, from /proc. */
async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]);
  assert.ok(kib > 0, `VmRSS of process ${pid}`);
  return kib / 1024;
}

it('keeps checkouts fast and memory bounded while Jaeger is down, and traces arrive again once it is back', async () => {
  const { stack, jaeger } = context;
  const pid = stack.servicePid('eshop');
  assert.ok(pid, 'eshop is running');

  await checkouts(300); // warm-up: connections, JIT, the heap up to its working size
  const baselineMs = await medianCheckoutMs(40);
  const rssBefore = await rssMiB(pid);

  await stack.stopJaeger();
  const outageMs = await medianCheckoutMs(40);
  // About five eshop spans a checkout: the exporter's queue of 2048 spans fills twice over.
  const last = await checkouts(800);
  const rssAfter = await rssMiB(pid);
  // The flow does not depend on Jaeger: the e-mail still goes out.
  await poll(
    `the e-mail of order ${last.orderId}`,
    () => emailsFor(stack, last.orderId),
    (emails) => emails.length === 1,
  );

  console.log(
    `Jaeger down: median checkout ${outageMs.toFixed(1)} ms (baseline ${baselineMs.toFixed(1)} ms); ` +
      `eshop RSS ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MiB over 840 checkouts`,
  );
  assert.ok(
    outageMs <= baselineMs * 3,
    `median checkout ${outageMs.toFixed(1)} ms with Jaeger down, ${baselineMs.toFixed(1)} ms with it up`,
  );
  assert.ok(rssAfter - rssBefore < 16, `eshop RSS grew from ${rssBefore.toFixed(0)} to ${rssAfter.toFixed(0)} MiB`);

  await stack.startJaeger();
  // The gRPC exporters try Jaeger again only when their reconnect backoff (up to two minutes) runs out, and drop
  // what they export before then: keep placing checkouts until one's trace arrives whole.
  const restarted = Date.now();
  const traceIds: string[] = [];
  const spans = await poll(
    'a trace with all six services after the restart',
    async () => {
      traceIds.push((await checkout(stack, ONE_ITEM)).traceId);
      for (const traceId of traceIds.slice(-20)) {
        const spans = await jaeger.trace(traceId);
        if (new Set(spans?.map((span) => span.service)).size === 6) return spans;
      }
      return undefined;
    },
    (spans) => spans !== undefined,
    150_000,
  );
  console.log(
    `Jaeger restarted: the first whole trace arrived after ${((Date.now() - restarted) / 1000).toFixed(1)} s`,
  );
  assert.deepEqual([...new Set(spans!.map((span) => span.service))].sort(), [
    'billing',
    'delivery',
    'eshop',
    'inventory',
    'kafka-consumer',
    'notification',
  ]);
});
