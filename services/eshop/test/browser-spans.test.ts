import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { createServiceApp, listen, type RunningServer } from '@eshop/http';
import { assertProblem, send } from '@eshop/testing';
import { Router } from 'express';
import { browserSpans, browserSpansRoutes } from '../src/browser-spans';

/** Two spans as the browser SDK makes them (a click, and the fetch under it), and their OTLP/JSON export request. */
function browserExport(resource: Record<string, string> = { 'service.name': 'storefront' }) {
  const made = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'user_agent.original': 'Mozilla/5.0', ...resource }),
    spanProcessors: [new SimpleSpanProcessor({ exporter: made })],
  });
  const tracer = provider.getTracer('storefront');
  const click = tracer.startSpan('click Place order', { attributes: { 'eshop.ui.target': 'button#place-order' } });
  const fetchSpan = tracer.startSpan(
    'POST',
    { kind: SpanKind.CLIENT, attributes: { 'http.response.status_code': 201, 'url.full': 'http://x/checkout' } },
    trace.setSpan(context.active(), click),
  );
  fetchSpan.addEvent('fetchStart', { size: 3 });
  fetchSpan.setStatus({ code: SpanStatusCode.ERROR, message: 'refused' });
  fetchSpan.end();
  click.end();
  const spans = made.getFinishedSpans();
  const body = JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans))) as {
    resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[];
  };
  return { spans, body };
}

describe('the storefront page’s spans, as eshop takes them (OTLP/JSON)', () => {
  it('reads the browser SDK’s export request back into the same spans, as the service storefront', () => {
    const { spans, body } = browserExport();
    const read = browserSpans(body);
    const shape = (span: ReadableSpan) => ({
      name: span.name,
      kind: span.kind,
      ids: [span.spanContext().traceId, span.spanContext().spanId, span.spanContext().traceFlags],
      parent: span.parentSpanContext?.spanId,
      startTime: span.startTime,
      endTime: span.endTime,
      status: span.status,
      attributes: span.attributes,
      events: span.events.map(({ name, time, attributes }) => ({ name, time, attributes })),
    });
    assert.deepEqual(read.map(shape), spans.map(shape));
    for (const span of read) {
      assert.equal(span.resource.attributes['service.name'], 'storefront');
      assert.equal(span.resource.attributes['user_agent.original'], 'Mozilla/5.0');
    }
  });

  it('refuses a resource that names another service, or carries what only a server would', () => {
    const resources: Record<string, string>[] = [{ 'service.name': 'billing' }, { 'host.name': 'eshop-1' }];
    for (const resource of resources) {
      assert.throws(
        () => browserSpans(browserExport(resource).body),
        (error: { status?: number }) => error.status === 422,
      );
    }
  });

  it('refuses what is not OTLP: bad ids, no spans list, a name missing', () => {
    const broken: ((span: Record<string, unknown>) => void)[] = [
      (span) => (span.spanId = 'not-hex'),
      (span) => (span.traceId = '0'.repeat(32)),
      (span) => delete span.name,
      (span) => (span.startTimeUnixNano = 'yesterday'),
    ];
    for (const breakIt of broken) {
      const { body } = browserExport();
      breakIt(body.resourceSpans[0].scopeSpans[0].spans[0]);
      assert.throws(
        () => browserSpans(body),
        (error: { status?: number }) => error.status === 400,
      );
    }
    assert.throws(
      () => browserSpans({ spans: [] }),
      (error: { status?: number }) => error.status === 400,
    );
  });
});

describe('POST /v1/traces', () => {
  const sent = new InMemorySpanExporter();
  let server: RunningServer;
  const url = () => `http://127.0.0.1:${server.port}`;
  before(async () => {
    const ownBodyRoutes = browserSpansRoutes({ maxBytes: 4096, perMinute: 4, exporter: sent });
    server = await listen(createServiceApp({ routes: Router(), ownBodyRoutes }), 0);
  });
  after(() => server.close());

  it('sends the spans on, and answers as OTLP/HTTP does; refuses what is too large, not JSON, or too often', async () => {
    const { body } = browserExport();
    const accepted = await send(url(), '/v1/traces', { json: body });
    assert.equal(accepted.status, 200);
    assert.deepEqual(accepted.body, {});
    assert.deepEqual(
      sent.getFinishedSpans().map((span) => span.name),
      ['POST', 'click Place order'],
    );
    sent.reset();

    const tooLarge = structuredClone(body);
    tooLarge.resourceSpans[0].scopeSpans[0].spans[0].name = 'x'.repeat(5000);
    assertProblem(await send(url(), '/v1/traces', { json: tooLarge }), 413);
    assertProblem(
      await send(url(), '/v1/traces', { raw: '{"resourceSpans":', headers: { 'content-type': 'application/json' } }),
      400,
    );
    assertProblem(
      await send(url(), '/v1/traces', {
        raw: new Uint8Array([10, 0]),
        headers: { 'content-type': 'application/x-protobuf' },
      }),
      415,
    );
    // Four a minute from one address, the refused ones included: the fifth waits.
    const limited = await send(url(), '/v1/traces', { json: body });
    assertProblem(limited, 429);
    assert.equal(limited.headers.get('retry-after'), '60');
    assert.deepEqual(sent.getFinishedSpans(), []);
  });
});
