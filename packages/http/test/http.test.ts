import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SpanStatusCode } from '@opentelemetry/api';
import { Router, type Express } from 'express';
import { z } from 'zod';
import {
  createJsonClient,
  createServiceApp,
  HttpError,
  listen,
  UpstreamError,
  validateBody,
  type RunningServer,
} from '../src';
import { assertProblem, commonBadInputs, itAnswersBadInputs, recordSpans, send, serveWithSpans } from '@eshop/testing';

/** A service with one endpoint that counts its calls in `calls`, and one that fails as the service's own fault. */
function testApp(calls: { echo: number; flaky: number }): Express {
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
  routes.get('/unavailable', () => {
    throw new HttpError(503, 'Mail server down', { detail: 'the service itself says so' });
  });
  return createServiceApp({ routes });
}

/** The test app, served by `serve` for the tests of one describe block. */
function useTestApp(serve: (app: Express) => Promise<RunningServer>) {
  const calls = { echo: 0, flaky: 0 };
  let server: RunningServer | undefined;
  before(async () => {
    server = await serve(testApp(calls));
  });
  after(() => server?.close());
  return { calls, url: () => `http://localhost:${server!.port}` };
}

describe('createServiceApp', () => {
  const { url } = useTestApp(serveWithSpans);

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
  const { calls, url } = useTestApp((app) => listen(app, 0));

  it('does not retry unless asked to, and times out as told', async () => {
    const client = createJsonClient('test', url(), { timeoutMs: 1000 });
    calls.flaky = 0;
    const error = await client.post('/flaky', {}, { idempotent: true }).catch((e: unknown) => e);
    assert.ok(error instanceof UpstreamError);
    assert.equal(error.status, 500);
    assert.equal(error.failure, 'failed');
    assert.equal(calls.flaky, 1);
    const timedOut = await createJsonClient('test', url(), { timeoutMs: 100 })
      .get('/hang')
      .catch((e: unknown) => e);
    assert.ok(timedOut instanceof UpstreamError);
    assert.equal(timedOut.failure, 'timeout');
  });

  it('retries a 5xx of a call marked idempotent', async () => {
    const client = createJsonClient('test', url(), { retries: 2 });
    calls.flaky = 0;
    assert.deepEqual(await client.post('/flaky', {}, { idempotent: true }), { call: 3 });
  });

  it('never retries a call not marked idempotent', async () => {
    const client = createJsonClient('test', url(), { retries: 2 });
    calls.flaky = 0;
    await assert.rejects(client.post('/flaky', {}), UpstreamError);
    assert.equal(calls.flaky, 1);
  });

  it('never retries a refusal (4xx)', async () => {
    const client = createJsonClient('test', url(), { retries: 2 });
    const error = await client.post('/declined', {}, { idempotent: true }).catch((e: unknown) => e);
    assert.ok(error instanceof UpstreamError);
    assert.equal(error.status, 402);
    assert.equal(error.failure, 'refused');
  });

  it('turns a call that takes too long into a timeout', async () => {
    const client = createJsonClient('test', url(), { timeoutMs: 100 });
    const error = await client.get('/hang').catch((e: unknown) => e);
    assert.ok(error instanceof UpstreamError);
    assert.equal(error.failure, 'timeout');
    assert.match(error.message, /did not answer within 100 ms/);
  });

  it("tells a proxy's 502/503/504 (no problem+json) from the service's own 503", async () => {
    // What a sidecar or gateway answers when the service behind it is down or slow: plain text.
    const proxy = createServer((req, res) => {
      res.writeHead(Number(req.url!.slice(1)), { 'content-type': 'text/plain' }).end('no healthy upstream');
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const client = createJsonClient('test', `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`);
      for (const [status, failure] of [
        [502, 'failed'],
        [503, 'failed'],
        [504, 'timeout'],
      ] as const) {
        const error = await client.get(`/${status}`).catch((e: unknown) => e);
        assert.ok(error instanceof UpstreamError);
        assert.deepEqual([error.status, error.failure, error.answered], [status, failure, false], `${status}`);
        assert.match(error.message, /a proxy, not the service/);
      }
    } finally {
      proxy.close();
    }
    const own = await createJsonClient('test', url())
      .get('/unavailable')
      .catch((e: unknown) => e);
    assert.ok(own instanceof UpstreamError);
    assert.deepEqual([own.status, own.failure, own.answered], [503, 'failed', true]);
  });

  it('turns no answer at all into unreachable', async () => {
    const client = createJsonClient('test', 'http://127.0.0.1:1', { timeoutMs: 1000 });
    const error = await client.get('/x').catch((e: unknown) => e);
    assert.ok(error instanceof UpstreamError);
    assert.equal(error.status, 0);
    assert.equal(error.failure, 'unreachable');
    assert.equal(error.answered, false);
  });

  it('does not call unreachable a call whose first attempt may have reached the server', async () => {
    // The first attempt reaches the server, which stops listening and never answers; the retries are refused.
    let reached = 0;
    const vanishing = createServer(() => {
      reached += 1;
      vanishing.close();
    });
    await once(vanishing.listen(0), 'listening');
    const { port } = vanishing.address() as AddressInfo;
    const client = createJsonClient('test', `http://127.0.0.1:${port}`, { timeoutMs: 200, retries: 2 });
    const error = await client.post('/x', {}, { idempotent: true }).catch((e: unknown) => e);
    vanishing.closeAllConnections();
    assert.equal(reached, 1);
    assert.ok(error instanceof UpstreamError);
    assert.equal(error.failure, 'timeout', error.message);
    assert.match(error.message, /did not answer within 200 ms, then ECONNREFUSED/);
  });
});

/** One request over `agent`, answered with its status, `Connection` header and body. */
function get(port: number, path: string, agent: Agent): Promise<{ status: number; connection?: string; body: string }> {
  return new Promise((resolve, reject) => {
    request({ port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }));
    })
      .on('error', reject)
      .end();
  });
}

describe('listen: closing', () => {
  /** A service whose `/slow` answers when told to. */
  function slowApp() {
    const waiting: (() => void)[] = [];
    const routes = Router();
    routes.get('/slow', async (_req, res) => {
      await new Promise<void>((resolve) => waiting.push(resolve));
      res.json({ answered: true });
    });
    routes.get('/fast', (_req, res) => {
      res.json({ answered: true });
    });
    return { app: createServiceApp({ routes }), waiting };
  }

  it('answers the requests in flight with Connection: close, closes idle keep-alive connections, takes no more', async () => {
    const { app, waiting } = slowApp();
    const server = await listen(app, 0);
    // A keep-alive connection left idle, and a request in flight on another.
    const idleAgent = new Agent({ keepAlive: true });
    assert.equal((await get(server.port, '/fast', idleAgent)).connection, 'keep-alive');
    const idle = Object.values(idleAgent.freeSockets).flat()[0]!;
    const idleClosed = once(idle, 'close');
    const busyAgent = new Agent({ keepAlive: true });
    const slow = get(server.port, '/slow', busyAgent);
    while (waiting.length === 0) await new Promise((resolve) => setImmediate(resolve));

    const closed = server.close(5000);
    await idleClosed;
    await assert.rejects(get(server.port, '/fast', new Agent()), { code: 'ECONNREFUSED' });
    waiting[0]();
    const answer = await slow;
    assert.equal(answer.status, 200);
    assert.equal(answer.connection, 'close');
    await closed;
    idleAgent.destroy();
    busyAgent.destroy();
  });

  it('cuts what is still running after the drain time, and says so', async () => {
    const { app, waiting } = slowApp();
    const server = await listen(app, 0);
    const slow = get(server.port, '/slow', new Agent()).catch((e: unknown) => e);
    while (waiting.length === 0) await new Promise((resolve) => setImmediate(resolve));
    await assert.rejects(server.close(100), /1 requests still running after 100 ms were cut/);
    assert.ok((await slow) instanceof Error, 'the request was cut');
  });
});
