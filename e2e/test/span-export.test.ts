import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { it } from 'node:test';
import { checkout, poll, traceWithSpans, useStack, type Order } from '../src/fixture';

/** A complete checkout's spans (see checkout-trace.test.ts). */
const SPANS_PER_CHECKOUT = 11;

// eshop exports over OTLP/HTTP to Jaeger's 4318, the others over gRPC to 4317: one whole trace takes both. Its
// queue is small, so that a Jaeger that is down makes it drop spans within a few checkouts.
const context = useStack('span-export', {
  serviceEnv: {
    eshop: {
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318',
      OTEL_BSP_MAX_QUEUE_SIZE: '100',
    },
    billing: { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4317' },
  },
});
const ONE_ITEM: Order = { email: 'ada@example.com', items: [{ sku: 'SKU-1', quantity: 1 }] };

interface Health {
  status: string;
  tracing?: { droppedSpans: number };
}

const health = async (): Promise<Health> =>
  (await (await fetch(`${context.stack.url('eshop')}/healthz`)).json()) as Health;

it('delivers spans to Jaeger over OTLP/HTTP and over gRPC, into one trace', async () => {
  const { traceId } = await checkout(context.stack, ONE_ITEM);
  const spans = await traceWithSpans(context.jaeger, traceId, SPANS_PER_CHECKOUT);
  assert.equal(spans.length, SPANS_PER_CHECKOUT, spans.map((span) => `${span.service}:${span.name}`).join(', '));
  assert.equal(spans.filter((span) => span.service === 'eshop').length, 5, "eshop's spans, sent over HTTP");
  assert.deepEqual((await health()).tracing, { droppedSpans: 0 });
});

it('counts the spans it drops while Jaeger is down, in a log line and in /healthz', async () => {
  const { stack } = context;
  await stack.stopJaeger();
  // Each checkout makes five eshop spans, and no export succeeds: the queue of 100 fills within twenty.
  const status = await poll(
    "a count of dropped spans in eshop's /healthz",
    async () => {
      await checkout(stack, ONE_ITEM);
      return health();
    },
    (answer) => (answer.tracing?.droppedSpans ?? 0) > 0,
  );
  assert.equal(status.status, 'ok', 'dropping spans leaves the service healthy');

  const lines = (await readFile(stack.logFile('eshop'), 'utf8'))
    .split('\n')
    .filter((line) => line.includes('"spans dropped'))
    .map((line) => JSON.parse(line) as { level: string; dropped_spans: number; dropped_spans_total: number });
  assert.ok(lines.length > 0, 'a log line says spans were dropped');
  const last = lines.at(-1)!;
  assert.equal(last.level, 'warn');
  assert.ok(last.dropped_spans > 0 && last.dropped_spans_total >= last.dropped_spans, JSON.stringify(last));
  const now = (await health()).tracing!.droppedSpans;
  assert.ok(last.dropped_spans_total <= now, `logged ${last.dropped_spans_total}, health says ${now}`);
});
