import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SERVICES } from '@eshop/scripts';
import { JaegerQuery } from '@eshop/jaeger-query';
import { DOT_ENV, useCompose } from '../src/compose';
import { assertWhole, checkout, poll, traceWithSpans } from '../src/fixture';

// The `kafka-pipeline` profile as docs/trace-pipeline.md runs it:
//   docker compose --env-file .env --env-file trace-pipeline/compose.env up --build
// The services export to the collector, which writes their spans to Kafka; Jaeger's ingester and Zipkin read them.

const SPANS_PER_CHECKOUT = 11;

interface ZipkinSpan {
  id: string;
  parentId?: string;
  localEndpoint?: { serviceName?: string };
}

describe('docker compose, the kafka-pipeline profile', () => {
  const stack = useCompose({ envFiles: ['trace-pipeline/compose.env'] });
  const ingester = new JaegerQuery(`http://127.0.0.1:${DOT_ENV.JAEGER_PIPELINE_UI_HOST_PORT}`);
  const zipkinApi = `http://127.0.0.1:${DOT_ENV.ZIPKIN_HOST_PORT}/api/v2`;

  it("brings a checkout's whole trace to Jaeger's ingester and to Zipkin, by way of the span topics", async () => {
    const containers = await stack.healthy();
    for (const service of ['jaeger-collector', 'jaeger-ingester', 'zipkin', 'span-topics']) {
      assert.ok(containers.has(service), `${service} runs in the profile`);
    }
    const { traceId } = await checkout(stack);

    const spans = await traceWithSpans(ingester, traceId, SPANS_PER_CHECKOUT);
    assert.equal(spans.length, SPANS_PER_CHECKOUT, spans.map((span) => `${span.service}:${span.name}`).join(', '));
    assert.deepEqual(new Set(spans.map((span) => span.service)), new Set(SERVICES));
    assertWhole(
      spans.map((span) => ({ id: span.spanId, parentId: span.parentSpanId })),
      'Jaeger',
    );

    const zipkin = await poll(
      `trace ${traceId} in Zipkin`,
      async () => {
        const response = await fetch(`${zipkinApi}/trace/${traceId}`);
        return response.ok ? ((await response.json()) as ZipkinSpan[]) : [];
      },
      (found) => found.length >= SPANS_PER_CHECKOUT,
      60_000,
    );
    assert.deepEqual(new Set(zipkin.map((span) => span.localEndpoint?.serviceName)), new Set(SERVICES));
    assert.deepEqual(new Set(zipkin.map((span) => span.id)), new Set(spans.map((span) => span.spanId)));
    assertWhole(zipkin, 'Zipkin');
  });
});
