import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  defaultTextMapGetter,
  defaultTextMapSetter,
  propagation,
  ROOT_CONTEXT,
  trace,
  TraceFlags,
  type Context,
  type TextMapGetter,
  type TextMapPropagator,
} from '@opentelemetry/api';
import { createPropagator } from '../src/propagation';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';
const OTHER_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const OTHER_SPAN_ID = '00f067aa0ba902b7';

const defaultPropagator = () => createPropagator(['b3multi', 'tracecontext', 'baggage']);

/** A context as a service has it mid-request: a sampled span, an order id in baggage, Envoy's request id. */
function requestContext(propagator: TextMapPropagator): Context {
  const withRequestId = propagator.extract(ROOT_CONTEXT, { 'x-request-id': 'req-42' }, defaultTextMapGetter);
  const withSpan = trace.setSpanContext(withRequestId, {
    traceId: TRACE_ID,
    spanId: SPAN_ID,
    traceFlags: TraceFlags.SAMPLED,
  });
  return propagation.setBaggage(withSpan, propagation.createBaggage({ 'eshop.order.id': { value: 'order-1' } }));
}

function inject(propagator: TextMapPropagator, context: Context): Record<string, string> {
  const headers: Record<string, string> = {};
  propagator.inject(context, headers, defaultTextMapSetter);
  return headers;
}

function extractedSpan(propagator: TextMapPropagator, headers: Record<string, string>) {
  return trace.getSpanContext(propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter));
}

/** How kafkajs hands headers to a consumer: every value a Buffer. */
const kafkaHeaderGetter: TextMapGetter<Record<string, Buffer | undefined>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key]?.toString('utf8'),
};

describe('createPropagator', () => {
  it('writes W3C, B3 multi-header, baggage and x-request-id on the way out', () => {
    const propagator = defaultPropagator();
    const headers = inject(propagator, requestContext(propagator));
    assert.equal(headers.traceparent, `00-${TRACE_ID}-${SPAN_ID}-01`);
    assert.equal(headers['x-b3-traceid'], TRACE_ID);
    assert.equal(headers['x-b3-spanid'], SPAN_ID);
    assert.equal(headers['x-b3-sampled'], '1');
    assert.equal(headers.baggage, 'eshop.order.id=order-1');
    assert.equal(headers['x-request-id'], 'req-42');
  });

  it('carries the whole context through Kafka message headers, which come back as Buffers', () => {
    const propagator = defaultPropagator();
    const produced = inject(propagator, requestContext(propagator));
    const consumed = Object.fromEntries(Object.entries(produced).map(([key, value]) => [key, Buffer.from(value)]));

    const context = propagator.extract(ROOT_CONTEXT, consumed, kafkaHeaderGetter);
    const { traceId, spanId, traceFlags, isRemote } = trace.getSpanContext(context) ?? {};
    assert.deepEqual(
      { traceId, spanId, traceFlags, isRemote },
      { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED, isRemote: true },
    );
    assert.equal(propagation.getBaggage(context)?.getEntry('eshop.order.id')?.value, 'order-1');
    assert.deepEqual(inject(propagator, context)['x-request-id'], 'req-42', 'the request id goes on past the hop');
  });

  it('continues a trace that arrives in B3 headers only', () => {
    const spanContext = extractedSpan(defaultPropagator(), {
      'x-b3-traceid': TRACE_ID,
      'x-b3-spanid': SPAN_ID,
      'x-b3-sampled': '1',
    });
    assert.equal(spanContext?.traceId, TRACE_ID);
    assert.equal(spanContext?.spanId, SPAN_ID);
  });

  it('reads the single b3 header when asked for b3', () => {
    const spanContext = extractedSpan(createPropagator(['b3']), { b3: `${TRACE_ID}-${SPAN_ID}-1` });
    assert.equal(spanContext?.traceId, TRACE_ID);
  });

  const conflicting = {
    traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`,
    'x-b3-traceid': OTHER_TRACE_ID,
    'x-b3-spanid': OTHER_SPAN_ID,
    'x-b3-sampled': '1',
  };

  it('lets the last trace propagator in the list win when W3C and B3 disagree', () => {
    assert.equal(extractedSpan(defaultPropagator(), conflicting)?.traceId, TRACE_ID, 'default order: W3C last');
    assert.equal(extractedSpan(createPropagator(['tracecontext', 'b3multi']), conflicting)?.traceId, OTHER_TRACE_ID);
  });

  it('starts afresh on a malformed traceparent', () => {
    for (const traceparent of [
      `ff-${TRACE_ID}-${SPAN_ID}-01`,
      `00-${'0'.repeat(32)}-${SPAN_ID}-01`,
      `00-${TRACE_ID}-${'0'.repeat(16)}-01`,
      `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`,
      'garbage',
    ]) {
      assert.equal(extractedSpan(defaultPropagator(), { traceparent }), undefined, traceparent);
    }
  });

  it('forwards a plausible x-request-id and drops anything else', () => {
    const propagator = defaultPropagator();
    const forwarded = (requestId: string) =>
      inject(propagator, propagator.extract(ROOT_CONTEXT, { 'x-request-id': requestId }, defaultTextMapGetter))[
        'x-request-id'
      ];
    assert.equal(forwarded('5f1d8c2e-9a0b-4c3d-8e7f-102938475601'), '5f1d8c2e-9a0b-4c3d-8e7f-102938475601');
    assert.equal(forwarded('x'.repeat(129)), undefined);
    assert.equal(forwarded('two words'), undefined);
    assert.equal(forwarded('line\nbreak'), undefined);
  });

  it('refuses an unknown propagator name at start, naming it', () => {
    assert.throws(() => createPropagator(['tracecontext', 'jaeger']), /unknown propagator jaeger/);
  });
});
