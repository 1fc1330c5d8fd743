import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { logger } from '@eshop/logger';
import { SpanStatusCode } from '@opentelemetry/api';
import { CompositePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3';
import { Router } from 'express';
import { z } from 'zod';
import {
  createJsonClient,
  createServiceApp,
  HttpError,
  inspectTraceHeaders,
  listen,
  UpstreamError,
  validateBody,
  type RunningServer,
} from '../src';
import { assertProblem, commonBadInputs, itAnswersBadInputs, recordSpans, send, serveWithSpans } from '@eshop/testing';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const VALID = `00-${TRACE_ID}-${SPAN_ID}-01`;

/** A service with one endpoint that counts its calls, and one that fails as the service's own fault. */
function testApp() {
  const calls = { echo: 0, flaky: 0 };
  const routes = Router();
  routes.post(
    '/echo',
    validateBody(z.object({ name: z.string().min(1), count: z.number().int().positive() })),
    (req, res) => {
      calls.echo += 1;
      res.status(201).json({ ...req.body, call: calls.echo });
    },
  );
  routes.post('/flaky', (_req, res) => {
    calls.flaky += 1;
    if (calls.flaky <= 2) throw new Error('boom');
    res.json({ call: calls.flaky });
  });
  routes.post('/declined', () => {
    throw new HttpError(402, 'Payment declined', { detail: 'declined', errorType: 'payment_declined' });
  });
  routes.get('/hang', () => new Promise(() => {}));
  return { app: createServiceApp({ routes }), calls };
}

describe('createServiceApp', () => {
  let server: RunningServer;
  let service: ReturnType<typeof testApp>;
  const url = () => `http://localhost:${server.port}`;
  before(async () => {
    service = testApp();
    server = await serveWithSpans(service.app);
  });
  after(() => server.close());

  itAnswersBadInputs(url, [
    ...commonBadInputs('/echo', { name: 'a', count: 1 }),
    { name: 'a missing field', path: '/echo', request: { json: { count: 1 } }, status: 400, field: 'name' },
    { name: 'a wrong type', path: '/echo', request: { json: { name: 'a', count: '1' } }, status: 400, field: 'count' },
    {
      name: 'a negative number',
      path: '/echo',
      request: { json: { name: 'a', count: -1 } },
      status: 400,
      field: 'count',
    },
    { name: 'a fraction', path: '/echo', request: { json: { name: 'a', count: 1.5 } }, status: 400, field: 'count' },
    {
      name: 'an absurd number',
      path: '/echo',
      request: { raw: '{"name":"a","count":1e400}', headers: { 'content-type': 'application/json' } },
      status: 400,
      field: 'count',
    },
  ]);

  it('answers an unexpected error 500 without its message or stack', async () => {
    const response = await send(url(), '/flaky', { json: {} });
    assertProblem(response, 500);
    assert.doesNotMatch(JSON.stringify(response.body), /boom/);
  });

  it("marks the server span ERROR with error.type for a failure that is not the caller's mistake", async () => {
    const spans = recordSpans();
    spans.reset();
    assertProblem(await send(url(), '/declined', { json: {} }), 402);
    const span = spans.spans().find((s) => s.name === 'POST /declined');
    assert.equal(span?.status.code, SpanStatusCode.ERROR);
    assert.equal(span?.attributes['error.type'], 'payment_declined');
    assert.equal(span?.events[0]?.name, 'exception');
  });

  it("leaves the span unset for a caller's mistake (a 400)", async () => {
    const spans = recordSpans();
    spans.reset();
    assertProblem(await send(url(), '/echo', { json: {} }), 400);
    assert.equal(spans.spans().find((s) => s.name === 'POST /echo')?.status.code, SpanStatusCode.UNSET);
  });
});

describe('createJsonClient', () => {
  let server: RunningServer;
  let service: ReturnType<typeof testApp>;
  const url = () => `http://localhost:${server.port}`;
  before(async () => {
    service = testApp();
    server = await listen(service.app, 0);
  });
  after(() => server.close());

  it('does not retry unless asked to, and times out as told', async () => {
    const client = createJsonClient('test', url(), { timeoutMs: 1000 });
    service.calls.flaky = 0;
    const error = await client.post('/flaky', {}, { idempotent: true }).catch((e: unknown) => e);
    assert.ok(error instanceof UpstreamError);
    assert.equal(error.status, 500);
    assert.equal(error.failure, 'failed');
    assert.equal(service.calls.flaky, 1);
    const timedOut = await createJsonClient('test', url(), { timeoutMs: 100 })
      .get('/hang')
      .catch((e: unknown) => e);
    assert.ok(timedOut instanceof UpstreamError);
    assert.equal(timedOut.failure, 'timeout');
  });

  it('retries a 5xx of a call marked idempotent', async () => {
    const client = createJsonClient('test', url(), { retries: 2 });
    service.calls.flaky = 0;
    assert.deepEqual(await client.post('/flaky', {}, { idempotent: true }), { call: 3 });
  });

  it('never retries a call not marked idempotent', async () => {
    const client = createJsonClient('test', url(), { retries: 2 });
    service.calls.flaky = 0;
    await assert.rejects(client.post('/flaky', {}), UpstreamError);
    assert.equal(service.calls.flaky, 1);
  });

  it('never retries a refusal (4xx)', async () => {
    const client = createJsonClient('test', url(), { retries: 2 });
    const error = await client.post('/declined', {}, { idempotent: true }).catch((e: unknown) => e);
    assert.ok(error instanceof UpstreamError);
    assert.equal(error.status, 402);
    assert.equal(error.refused, true);
  });

  it('turns a call that takes too long into a timeout', async () => {
    const client = createJsonClient('test', url(), { timeoutMs: 100 });
    const error = await client.get('/hang').catch((e: unknown) => e);
    assert.ok(error instanceof UpstreamError);
    assert.equal(error.failure, 'timeout');
    assert.match(error.message, /did not answer within 100 ms/);
  });

  it('turns no answer at all into unreachable', async () => {
    const client = createJsonClient('test', 'http://127.0.0.1:1', { timeoutMs: 1000 });
    const error = await client.get('/x').catch((e: unknown) => e);
    assert.ok(error instanceof UpstreamError);
    assert.equal(error.status, 0);
    assert.equal(error.failure, 'unreachable');
  });
});

describe('inspectTraceHeaders', () => {
  // As the tracing bootstrap configures them: B3 (single and multiple headers) and W3C, the last winning.
  const PROPAGATOR = new CompositePropagator({
    propagators: [new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER }), new W3CTraceContextPropagator()],
  });
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
      const report = inspectTraceHeaders(headers, active, PROPAGATOR);
      assert.deepEqual(
        report.ignored.map((entry) => entry.header),
        ignored,
      );
      assert.equal(report.freshTrace, fresh);
      for (const entry of report.ignored) assert.ok(entry.reason.length > 0);
    });
  }
});

describe('the trace-header warning', () => {
  let server: RunningServer;
  before(async () => {
    server = await listen(testApp().app, 0);
  });
  after(() => server.close());

  it('logs one warning naming the ignored header, and the request still succeeds', async (t) => {
    const warn = t.mock.method(logger, 'warn', () => {});
    const response = await send(`http://localhost:${server.port}`, '/echo', {
      json: { name: 'a', count: 1 },
      headers: { traceparent: `00-${'0'.repeat(32)}-${SPAN_ID}-01` },
    });
    assert.equal(response.status, 201);
    const calls = warn.mock.calls.filter((call) => String(call.arguments[1]).includes('trace headers'));
    assert.equal(calls.length, 1);
    const fields = calls[0].arguments[0] as { ignored: { header: string }[]; fresh_trace: boolean };
    assert.deepEqual(
      fields.ignored.map((entry) => entry.header),
      ['traceparent'],
    );
    assert.equal(fields.fresh_trace, true);
  });

  it('logs nothing for good headers', async (t) => {
    const warn = t.mock.method(logger, 'warn', () => {});
    await send(`http://localhost:${server.port}`, '/echo', {
      json: { name: 'a', count: 1 },
      headers: { traceparent: VALID },
    });
    assert.equal(warn.mock.calls.length, 0);
  });
});
