import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { JaegerQuery, JaegerUnavailableError, toTraceSpans, type JaegerTrace } from '../src/index';

const traceID = 'b'.repeat(32);
const span = (
  spanID: string,
  operationName: string,
  processID: string,
  [startTime, duration]: [number, number],
  references: JaegerTrace['spans'][number]['references'],
  tags: Record<string, string | number>,
) => ({
  traceID,
  spanID,
  operationName,
  processID,
  startTime,
  duration,
  references,
  tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
});
const TRACE: JaegerTrace = {
  traceID,
  processes: { p1: { serviceName: 'kafka-consumer' }, p2: { serviceName: 'notification' } },
  spans: [
    span('c2', 'POST /sendEmail', 'p2', [2_000, 300], [{ refType: 'CHILD_OF', traceID, spanID: 'c1' }], {
      'span.kind': 'server',
      'otel.status_code': 'ERROR',
    }),
    // In link mode: no parent, a link to the producer span of the checkout's trace.
    span(
      'c1',
      'process orders',
      'p1',
      [1_000, 1_500],
      [{ refType: 'FOLLOWS_FROM', traceID: 'a'.repeat(32), spanID: 'a1' }],
      {
        'span.kind': 'consumer',
        'messaging.destination.name': 'orders',
      },
    ),
  ],
};

describe('toTraceSpans', () => {
  it('resolves services, kinds, parents and links, oldest first, with every attribute', () => {
    assert.deepEqual(toTraceSpans(TRACE), [
      {
        traceId: traceID,
        spanId: 'c1',
        service: 'kafka-consumer',
        name: 'process orders',
        kind: 'consumer',
        startMicros: 1_000,
        durationMicros: 1_500,
        error: false,
        links: [{ traceId: 'a'.repeat(32), spanId: 'a1' }],
        attributes: { 'span.kind': 'consumer', 'messaging.destination.name': 'orders' },
      },
      {
        traceId: traceID,
        spanId: 'c2',
        parentSpanId: 'c1',
        service: 'notification',
        name: 'POST /sendEmail',
        kind: 'server',
        startMicros: 2_000,
        durationMicros: 300,
        error: true,
        links: [],
        attributes: { 'span.kind': 'server', 'otel.status_code': 'ERROR' },
      },
    ]);
  });

  it('keeps only the attributes asked for, and still reads the kind and the status from the others', () => {
    const [consumer, server] = toTraceSpans(TRACE, (key) => key.startsWith('messaging.'));
    assert.deepEqual(consumer.attributes, { 'messaging.destination.name': 'orders' });
    assert.deepEqual([server.attributes, server.kind, server.error], [{}, 'server', true]);
  });
});

describe('JaegerQuery', () => {
  let server: Server;
  let url: string;
  const requests: string[] = [];

  before(async () => {
    server = createServer((request, response) => {
      requests.push(request.url ?? '');
      if (request.url === `/api/traces/${traceID}`) return void response.end(JSON.stringify({ data: [TRACE] }));
      if (request.url?.startsWith('/api/traces?')) return void response.end(JSON.stringify({ data: [TRACE] }));
      if (request.url === '/api/traces/broken') return void response.writeHead(500).end();
      response.writeHead(404).end(JSON.stringify({ data: null }));
    }).listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it('reads a trace, and no spans for a trace Jaeger does not have', async () => {
    const jaeger = new JaegerQuery(url);
    assert.equal((await jaeger.trace(traceID)).length, 2);
    assert.deepEqual(await jaeger.trace('c'.repeat(32)), []);
  });

  it('searches by service and tags within a window', async () => {
    const jaeger = new JaegerQuery(url);
    const [found] = await jaeger.find('notification', { 'eshop.order.id': 'o-1' }, { lookback: '15m' });
    assert.equal(found.length, 2);
    const query = new URLSearchParams(requests.at(-1)!.split('?')[1]);
    assert.equal(query.get('service'), 'notification');
    assert.equal(query.get('tags'), '{"eshop.order.id":"o-1"}');
    assert.equal(query.get('lookback'), '15m');
  });

  it('says where and how Jaeger failed', async () => {
    await assert.rejects(
      new JaegerQuery(url).trace('broken'),
      (error) => error instanceof JaegerUnavailableError && /answered 500/.test(error.message),
    );
  });
});
