import assert from 'node:assert/strict';
import type { TraceSpan } from '@eshop/jaeger-query';

/**
 * Asserts the messaging attributes of the semantic conventions 1.44 on a Kafka span of `orders`: the system, the
 * topic, the operation, the client and its broker, and on consumer spans the group, the partition and the offset.
 * Spelled out here rather than taken from the code under test.
 */
export function assertMessagingAttributes(
  span: TraceSpan,
  expected: {
    operation: 'send' | 'poll' | 'process';
    clientId: string;
    brokers: readonly string[];
    group?: string;
    orderId?: string;
  },
): void {
  const what = `${span.service} ${span.name}`;
  const type = { send: 'send', poll: 'receive', process: 'process' }[expected.operation];
  const [address, port] = expected.brokers[0].split(':');
  const tags = span.attributes;
  assert.equal(span.name, `${expected.operation} orders`, what);
  assert.equal(span.kind, { send: 'producer', poll: 'client', process: 'consumer' }[expected.operation], what);
  assert.equal(tags['messaging.system'], 'kafka', what);
  assert.equal(tags['messaging.destination.name'], 'orders', what);
  assert.equal(tags['messaging.operation.type'], type, what);
  assert.equal(tags['messaging.operation.name'], expected.operation, what);
  assert.equal(tags['messaging.client.id'], expected.clientId, what);
  assert.equal(tags['server.address'], address, what);
  assert.equal(tags['server.port'], Number(port), what);
  if (expected.operation === 'send') {
    assert.equal(tags['messaging.kafka.message.key'], expected.orderId, what);
    return;
  }
  assert.equal(tags['messaging.consumer.group.name'], expected.group, what);
  assert.match(String(tags['messaging.destination.partition.id']), /^\d+$/, what);
  if (expected.operation === 'process') {
    assert.equal(tags['messaging.kafka.message.key'], expected.orderId, what);
    assert.match(String(tags['messaging.kafka.offset']), /^\d+$/, what);
  }
}
