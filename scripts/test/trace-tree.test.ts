import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toTraceSpans, type JaegerTrace } from '@eshop/jaeger-query';
import { renderTraceTree } from '../src/trace-tree';

const TRACE = 'a'.repeat(32);
const span = (
  spanID: string,
  operationName: string,
  processID: string,
  kind: string,
  parent?: string,
  extra: object[] = [],
) => ({
  traceID: TRACE,
  spanID,
  operationName,
  processID,
  startTime: Number.parseInt(spanID, 16),
  duration: 1500,
  references: parent ? [{ refType: 'CHILD_OF' as const, traceID: TRACE, spanID: parent }] : [],
  tags: [{ key: 'span.kind', type: 'string', value: kind }, ...(extra as JaegerTrace['spans'][0]['tags'])],
});

const trace: JaegerTrace = {
  traceID: TRACE,
  processes: { p1: { serviceName: 'eshop' }, p2: { serviceName: 'kafka-consumer' } },
  spans: [
    span('3', 'process orders', 'p2', 'consumer', '2', [
      { key: 'eshop.kafka.queue_time_ms', type: 'int64', value: 42 },
    ]),
    span('1', 'POST /checkout', 'p1', 'server'),
    span('2', 'send orders', 'p1', 'producer', '1', [
      { key: 'messaging.destination.name', type: 'string', value: 'orders' },
    ]),
  ],
};

describe('renderTraceTree', () => {
  it('prints spans as a tree in start order, with services, kinds, durations and the time spent in Kafka', () => {
    assert.equal(
      renderTraceTree(toTraceSpans(trace)),
      [
        'eshop: POST /checkout [server] 1.5 ms',
        '  eshop: send orders [producer] 1.5 ms  (topic orders)',
        '    kafka-consumer: process orders [consumer] 1.5 ms  (waited 42 ms in Kafka)',
      ].join('\n'),
    );
  });

  it('prints a span whose parent is not in the trace as a root, with its links', () => {
    const orphan = span('5', 'process orders', 'p2', 'consumer', '9');
    orphan.references.push({ refType: 'FOLLOWS_FROM' as never, traceID: 'b'.repeat(32), spanID: '7' });
    const output = renderTraceTree(toTraceSpans({ ...trace, spans: [orphan] }));
    assert.equal(output, `kafka-consumer: process orders [consumer] 1.5 ms  (linked to ${'b'.repeat(32)}/7)`);
  });
});
