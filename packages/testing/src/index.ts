// Test helpers for the services' tests: a development dependency only, so never in an image.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { it } from 'node:test';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import type { Express } from 'express';

let exporter: InMemorySpanExporter | undefined;

/** A real tracer, context manager and W3C propagators for the test process, the finished spans kept in memory. */
export function recordSpans(): { spans(): ReadableSpan[]; reset(): void } {
  if (!exporter) {
    exporter = new InMemorySpanExporter();
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }));
    propagation.setGlobalPropagator(
      new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
    );
  }
  const spans = exporter;
  return { spans: () => spans.getFinishedSpans(), reset: () => spans.reset() };
}

/**
 * Serves `app` on a free port, each request inside a SERVER span named `<method> <path>` in the context its
 * headers carry, as the http instrumentation does in a running service, so that a test can read the span.
 */
export async function serveWithSpans(app: Express): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  recordSpans();
  const tracer = trace.getTracer('test');
  const server = createServer((req, res) => {
    const parent = propagation.extract(context.active(), req.headers);
    tracer.startActiveSpan(`${req.method} ${req.url?.split('?')[0]}`, { kind: SpanKind.SERVER }, parent, (span) => {
      res.once('close', () => span.end());
      app(req, res);
    });
  });
  await once(server.listen(0), 'listening');
  return {
    server,
    port: (server.address() as AddressInfo).port,
    // Open keep-alive connections too: a test's client must not keep the server, and the test, waiting.
    close: async () => {
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}

export interface TestResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

export interface TestRequest {
  method?: string;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as it is, for bodies that are not JSON. */
  raw?: string | Uint8Array;
  headers?: Record<string, string>;
}

/** One request; the body is parsed as JSON when the answer says it is JSON. */
export async function send(
  baseUrl: string,
  path: string,
  { method, json, raw, headers = {} }: TestRequest = {},
): Promise<TestResponse> {
  const body = json !== undefined ? JSON.stringify(json) : raw;
  const response = await fetch(`${baseUrl}${path}`, {
    method: method ?? (body === undefined ? 'GET' : 'POST'),
    headers: { ...(json !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body,
  });
  const text = await response.text();
  const isJson = /json/.test(response.headers.get('content-type') ?? '');
  return {
    status: response.status,
    headers: response.headers,
    body: isJson && text ? (JSON.parse(text) as unknown) : text,
  };
}

export interface BadInput {
  name: string;
  path: string;
  request: TestRequest;
  status: number;
  /** A field the problem's `errors` must name. */
  field?: string;
}

/** Asserts a problem+json answer: the status, the body's status and title, the field named, no stack trace. */
export function assertProblem(response: TestResponse, status: number, field?: string): void {
  const label = `${JSON.stringify(response.body)}`;
  assert.equal(response.status, status, label);
  assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/, label);
  const body = response.body as { status?: number; title?: string; errors?: { field: string; reason: string }[] };
  assert.equal(body.status, status, label);
  assert.equal(typeof body.title, 'string', label);
  assert.doesNotMatch(JSON.stringify(body), /\n\s+at /, 'no stack trace');
  if (field !== undefined) {
    assert.ok(
      body.errors?.some((error) => error.field === field && error.reason.length > 0),
      `expected a reason for ${field} in ${label}`,
    );
  }
}

/** The bad inputs every JSON endpoint must answer alike, whatever its schema. */
export function commonBadInputs(path: string, validBody: unknown): BadInput[] {
  return [
    {
      name: 'malformed JSON',
      path,
      request: { raw: '{"orderId":', headers: { 'content-type': 'application/json' } },
      status: 400,
      field: '(body)',
    },
    {
      name: 'a JSON string, not an object',
      path,
      request: { raw: '"text"', headers: { 'content-type': 'application/json' } },
      status: 400,
    },
    { name: 'no body', path, request: { method: 'POST' }, status: 400, field: '(body)' },
    { name: 'an array body', path, request: { json: [validBody] }, status: 400, field: '(body)' },
    {
      name: 'wrong content type',
      path,
      request: { raw: JSON.stringify(validBody), headers: { 'content-type': 'text/plain' } },
      status: 415,
    },
    {
      name: 'an unsupported charset',
      path,
      request: { raw: JSON.stringify(validBody), headers: { 'content-type': 'application/json; charset=latin1' } },
      status: 415,
    },
    {
      name: 'a body that claims gzip but is not',
      path,
      request: { raw: 'not gzip', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } },
      status: 400,
    },
    { name: 'an oversized body', path, request: { json: { padding: 'x'.repeat(64 * 1024) } }, status: 413 },
    { name: 'an unknown route', path: '/no-such-route', request: { json: validBody }, status: 404 },
    { name: 'a wrong method', path, request: { method: 'DELETE' }, status: 404 },
  ];
}

/** One `it` per bad input, each asserting its problem answer. */
export function itAnswersBadInputs(baseUrl: () => string, cases: BadInput[]): void {
  for (const input of cases) {
    it(`answers ${input.status} to ${input.name} (${input.path})`, async () => {
      assertProblem(await send(baseUrl(), input.path, input.request), input.status, input.field);
    });
  }
}
