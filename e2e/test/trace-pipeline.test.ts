import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { SERVICES } from '@eshop/scripts';
import type { TraceSpan } from '@eshop/jaeger-query';
import { useBrowser } from '../src/browser';
import { assertWhole, checkout, kafkaOf, ORDER, poll, traceWithSpans, useStack, type Order } from '../src/fixture';

/** As in checkout-trace.test.ts: the same trace, whichever way its spans travel. */
const SPANS_PER_CHECKOUT = 11;
const ZIPKIN_API = 'http://localhost:9411/api/v2';
const ONE_ITEM: Order = { email: ORDER.email, items: [{ sku: 'SKU-1', quantity: 1 }] };

interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  localEndpoint?: { serviceName?: string };
}

/** The trace as Zipkin's API has it, or undefined while it has none of it. */
async function zipkinTrace(traceId: string): Promise<ZipkinSpan[] | undefined> {
  const response = await fetch(`${ZIPKIN_API}/trace/${traceId}`);
  if (response.status === 404) return undefined;
  assert.equal(response.status, 200, `Zipkin answered ${response.status} for trace ${traceId}`);
  return (await response.json()) as ZipkinSpan[];
}

const ofJaeger = (spans: TraceSpan[]) => spans.map((span) => ({ id: span.spanId, parentId: span.parentSpanId }));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

describe('spans through Kafka (TRACE_PIPELINE=kafka)', () => {
  const context = useStack('trace-pipeline', { tracePipeline: 'kafka' });
  const browser = useBrowser();

  it('brings a checkout’s whole trace to Jaeger and to Zipkin, by way of the span topics', async () => {
    const { traceId } = await checkout(context.stack, ORDER);

    const spans = await traceWithSpans(context.jaeger, traceId, SPANS_PER_CHECKOUT);
    assert.equal(spans.length, SPANS_PER_CHECKOUT, spans.map((span) => `${span.service}:${span.name}`).join(', '));
    assert.deepEqual(new Set(spans.map((span) => span.service)), new Set(SERVICES));
    assertWhole(ofJaeger(spans), 'Jaeger');

    const zipkin = (await poll(
      `trace ${traceId} in Zipkin`,
      () => zipkinTrace(traceId),
      (found) => (found?.length ?? 0) >= SPANS_PER_CHECKOUT,
    ))!;
    assert.deepEqual(new Set(zipkin.map((span) => span.localEndpoint?.serviceName)), new Set(SERVICES));
    assert.deepEqual(new Set(zipkin.map((span) => span.id)), new Set(spans.map((span) => span.spanId)));
    assertWhole(zipkin, 'Zipkin');

    // The spans were messages on `jaeger-spans` (OTLP protobuf, where a trace id is its 16 bytes).
    const traceIdBytes = Buffer.from(traceId, 'hex');
    const consumer = kafkaOf(context.stack, 'e2e-span-reader').consumer({ groupId: `e2e-spans-${randomUUID()}` });
    let carried = 0;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: ['jaeger-spans'], fromBeginning: true });
      await consumer.run({
        eachMessage: ({ message }) => {
          if (message.value?.includes(traceIdBytes)) carried++;
          return Promise.resolve();
        },
      });
      await poll(
        'a message on jaeger-spans with the trace',
        () => Promise.resolve(carried),
        (count) => count > 0,
      );
    } finally {
      await consumer.disconnect();
    }
  });

  it('shows the trace in the Zipkin UI, the native trace UI, with every service', async () => {
    const { traceId } = await checkout(context.stack, ORDER);
    await poll(
      `trace ${traceId} in Zipkin`,
      () => zipkinTrace(traceId),
      (found) => (found?.length ?? 0) >= SPANS_PER_CHECKOUT,
    );
    const watched = await browser.newPage();
    const { page } = watched;
    await page.goto(`http://localhost:9411/zipkin/traces/${traceId}`);
    const shown = await poll(
      'the trace page to list the six services',
      async () => (await page.locator('body').innerText()).toLowerCase(),
      (text) => SERVICES.every((service) => text.includes(service)),
    );
    assert.ok(shown.includes(traceId.slice(0, 16)) || shown.includes(traceId), 'the trace id is on the page');
    await browser.screenshot(page, 'zipkin-trace.png');
    watched.assertStayedLocal();
    // And the storefront links its trace ids there.
    const config = (await (await fetch(`${context.stack.url('eshop')}/api/config`)).json()) as { zipkinUiUrl?: string };
    assert.equal(config.zipkinUiUrl, 'http://localhost:9411/zipkin');
  });

  it('makes a trace queryable in Jaeger and Zipkin soon after its checkout (the delay is reported)', async () => {
    const delays: number[] = [];
    for (let index = 0; index < 20; index++) {
      const placed = performance.now();
      const { traceId } = await checkout(context.stack, ONE_ITEM);
      await poll(
        `trace ${traceId} whole in Jaeger and Zipkin`,
        async () => [(await context.jaeger.trace(traceId))?.length ?? 0, (await zipkinTrace(traceId))?.length ?? 0],
        ([inJaeger, inZipkin]) => inJaeger >= SPANS_PER_CHECKOUT && inZipkin >= SPANS_PER_CHECKOUT,
        30_000,
        20,
      );
      delays.push(performance.now() - placed);
    }
    delays.sort((a, b) => a - b);
    console.log(
      `checkout to whole trace in both backends: p50 ${median(delays).toFixed(0)} ms, max ${delays.at(-1)!.toFixed(0)} ms ` +
        `(20 checkouts, spans exported every 200 ms)`,
    );
  });

  it('keeps every trace placed while the ingester is down, and the checkouts do not wait for it', async () => {
    const { stack, jaeger } = context;
    const timed = async () => {
      const started = performance.now();
      const placed = await checkout(stack, ONE_ITEM);
      return { ...placed, ms: performance.now() - started };
    };
    // One checkout every 100 ms or so: enough traces to matter, few enough to read back one by one.
    const placeFor = async (ms: number) => {
      const placed = [];
      for (const until = Date.now() + ms; Date.now() < until;) {
        placed.push(await timed());
        await delay(100);
      }
      return placed;
    };

    const baseline = await placeFor(5_000);
    await stack.stopJaeger();
    const duringOutage = await placeFor(20_000);
    await stack.startJaeger();

    // Every trace of the window, whole: the ingester reads what the collector kept in Kafka meanwhile.
    const incomplete = async () => {
      const counts = await Promise.all(
        duringOutage.map(async ({ traceId }) => ({ traceId, spans: (await jaeger.trace(traceId))?.length ?? 0 })),
      );
      return counts.filter(({ spans }) => spans !== SPANS_PER_CHECKOUT);
    };
    await poll('every trace of the outage whole in Jaeger', incomplete, (left) => left.length === 0, 60_000, 1000);
    const ratio = median(duringOutage.map((c) => c.ms)) / median(baseline.map((c) => c.ms));
    console.log(
      `ingester outage: ${duringOutage.length} checkouts in 20 s, every trace whole afterwards; ` +
        `median checkout ${median(duringOutage.map((c) => c.ms)).toFixed(1)} ms vs ${median(baseline.map((c) => c.ms)).toFixed(1)} ms before (×${ratio.toFixed(2)})`,
    );
    // Generous: the bound is there to catch checkouts that wait on the backend, not to time them.
    assert.ok(ratio < 2, `checkouts took ×${ratio.toFixed(2)} as long while the ingester was down`);
  });
});
