import assert from 'node:assert/strict';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { propagation, trace, TraceFlags } from '@opentelemetry/api';
import { CompositePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3';
import pino from 'pino';
import { inspectTraceHeaders, warnOfIgnoredTraceHeaders } from '../src/trace-headers';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const VALID = `00-${TRACE_ID}-${SPAN_ID}-01`;

// As the tracing bootstrap configures them: B3 (single and multiple headers) and W3C, the last winning.
const PROPAGATOR = new CompositePropagator({
  propagators: [new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER }), new W3CTraceContextPropagator()],
});

describe('inspectTraceHeaders', () => {
  const cases: { name: string; headers: Record<string, string>; active?: string; ignored: string[]; fresh: boolean }[] =
    [
      { name: 'a valid traceparent', headers: { traceparent: VALID }, active: TRACE_ID, ignored: [], fresh: false },
      {
        name: 'version ff',
        headers: { traceparent: `ff-${TRACE_ID}-${SPAN_ID}-01` },
        ignored: ['traceparent'],
        fresh: true,
      },
      {
        name: 'an all-zero trace id',
        headers: { traceparent: `00-${'0'.repeat(32)}-${SPAN_ID}-01` },
        ignored: ['traceparent'],
        fresh: true,
      },
      {
        name: 'an all-zero parent id',
        headers: { traceparent: `00-${TRACE_ID}-${'0'.repeat(16)}-01` },
        ignored: ['traceparent'],
        fresh: true,
      },
      {
        name: 'a short trace id',
        headers: { traceparent: `00-${TRACE_ID.slice(2)}-${SPAN_ID}-01` },
        ignored: ['traceparent'],
        fresh: true,
      },
      { name: 'uppercase hex', headers: { traceparent: VALID.toUpperCase() }, ignored: ['traceparent'], fresh: true },
      {
        name: 'version 00 with more after the flags',
        headers: { traceparent: `${VALID}-extra` },
        ignored: ['traceparent'],
        fresh: true,
      },
      {
        name: 'a tracestate with a broken traceparent',
        headers: { traceparent: 'garbage', tracestate: 'a=b' },
        ignored: ['traceparent'],
        fresh: true,
      },
      {
        // The propagator drops the members past its limits and follows the traceparent: nothing to report.
        name: 'a huge tracestate beside a valid traceparent',
        headers: {
          traceparent: VALID,
          tracestate: Array.from({ length: 40 }, (_, i) => `k${i}=${'v'.repeat(20)}`).join(','),
        },
        active: TRACE_ID,
        ignored: [],
        fresh: false,
      },
      {
        name: 'B3 and W3C naming different traces, W3C winning',
        headers: { traceparent: VALID, 'x-b3-traceid': 'a'.repeat(32), 'x-b3-spanid': 'b'.repeat(16) },
        active: TRACE_ID,
        ignored: ['x-b3-traceid'],
        fresh: false,
      },
      {
        name: 'B3 and W3C naming different traces, B3 winning',
        headers: { traceparent: VALID, 'x-b3-traceid': 'a'.repeat(32), 'x-b3-spanid': 'b'.repeat(16) },
        active: 'a'.repeat(32),
        ignored: ['traceparent'],
        fresh: false,
      },
      {
        name: 'a B3 trace id without span id',
        headers: { 'x-b3-traceid': 'a'.repeat(32) },
        ignored: ['x-b3-traceid'],
        fresh: true,
      },
      { name: 'a broken single b3 header', headers: { b3: 'zz-yy' }, ignored: ['b3'], fresh: true },
      { name: 'a single b3 header with a sampling decision only', headers: { b3: '0' }, ignored: [], fresh: true },
      {
        name: 'a valid 64-bit B3 trace id',
        headers: { 'x-b3-traceid': 'a'.repeat(16), 'x-b3-spanid': 'b'.repeat(16) },
        active: `${'0'.repeat(16)}${'a'.repeat(16)}`,
        ignored: [],
        fresh: false,
      },
    ];
  for (const { name, headers, active, ignored, fresh } of cases) {
    it(`reports ${name}`, () => {
      // Without `active`, the request ran in a trace of its own, which no header named.
      const report = inspectTraceHeaders(headers, active ?? 'f'.repeat(32), PROPAGATOR);
      assert.deepEqual(
        report.ignored.map((entry) => entry.header),
        ignored,
      );
      assert.equal(report.freshTrace, fresh);
      for (const entry of report.ignored) assert.ok(entry.reason.length > 0);
    });
  }
});

describe("inspectTraceHeaders, given the span's parent", () => {
  const parent = { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED };
  const refuse = {
    extract: () => {
      throw new Error('extracted again');
    },
  };

  it('follows headers that name the parent as the propagators write them, without extracting them again', () => {
    const headers = {
      traceparent: VALID,
      'x-b3-traceid': TRACE_ID,
      'x-b3-spanid': SPAN_ID,
      'x-b3-sampled': '1',
    };
    assert.deepEqual(inspectTraceHeaders(headers, TRACE_ID, refuse, parent), { ignored: [], freshTrace: false });
  });

  it('asks the propagators about any other header', () => {
    const headers = { traceparent: VALID, 'x-b3-traceid': 'a'.repeat(32), 'x-b3-spanid': 'b'.repeat(16) };
    const report = inspectTraceHeaders(headers, TRACE_ID, PROPAGATOR, parent);
    assert.deepEqual(
      report.ignored.map((entry) => entry.header),
      ['x-b3-traceid'],
    );
    assert.throws(() => inspectTraceHeaders(headers, TRACE_ID, refuse, parent), /extracted again/);
  });
});

describe('warnOfIgnoredTraceHeaders', () => {
  // It asks the global propagator, which the SDK registers in a service.
  before(() => propagation.setGlobalPropagator(PROPAGATOR));
  after(() => propagation.disable());
  /** A request with these headers, the server span it got, and the log lines written about it. */
  function judge(headers: Record<string, string>, spanTraceId: string) {
    const lines: Record<string, unknown>[] = [];
    const log = pino(
      { level: 'info' },
      { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const request = new IncomingMessage(new Socket());
    Object.assign(request, { headers, method: 'POST', url: '/checkout' });
    const span = trace.wrapSpanContext({
      traceId: spanTraceId,
      spanId: 'b'.repeat(16),
      traceFlags: TraceFlags.SAMPLED,
    });
    warnOfIgnoredTraceHeaders(log, span, request);
    return lines;
  }

  it('logs one warning naming the ignored header, with the trace the request runs in', () => {
    const fresh = 'c'.repeat(32);
    const lines = judge({ traceparent: `00-${'0'.repeat(32)}-${SPAN_ID}-01` }, fresh);
    assert.equal(lines.length, 1);
    assert.equal(lines[0].level, 40);
    assert.equal(lines[0].trace_id, fresh);
    assert.deepEqual(
      (lines[0].ignored as { header: string }[]).map((entry) => entry.header),
      ['traceparent'],
    );
    assert.equal(lines[0].fresh_trace, true);
    assert.doesNotMatch(JSON.stringify(lines[0]), /0{32}/, 'the value itself stays out of the log');
  });

  it('logs nothing for good headers', () => {
    assert.deepEqual(judge({ traceparent: VALID }, TRACE_ID), []);
  });
});
