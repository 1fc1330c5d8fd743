import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { KafkaMessage } from 'kafkajs';
import { checkout, kafkaOf, ORDERS_TOPIC, poll, useStack } from '../src/fixture';

// docs/messaging.md weighs the other ways to carry a trace across Kafka. One of them is a consumer written against
// custom `trace_id` / `span_id` headers: this is what such a consumer finds in a real event of this project's.

describe('an OrderPlaced event, as a consumer written against custom trace headers reads it', () => {
  const env = useStack('custom-headers', { services: ['inventory', 'billing', 'delivery', 'eshop'] });

  it('has no trace_id or span_id header, and no trace in its body: only W3C traceparent (and baggage)', async () => {
    const placed = await checkout(env.stack);
    const consumer = kafkaOf(env.stack, 'custom-headers').consumer({ groupId: `custom-headers-${randomUUID()}` });
    const messages: KafkaMessage[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [ORDERS_TOPIC], fromBeginning: true });
      await consumer.run({ eachMessage: ({ message }) => Promise.resolve(void messages.push(message)) });
      const message = (await poll(
        `the event of order ${placed.orderId}`,
        () => messages.find((candidate) => candidate.key?.toString() === placed.orderId),
        (found) => found !== undefined,
      ))!;
      const headers = Object.fromEntries(
        Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]),
      );

      // What the custom-header consumer looks for is not there: it would start a trace of its own.
      assert.deepEqual(
        Object.keys(headers).filter((name) =>
          ['trace_id', 'span_id', 'traceid', 'spanid'].includes(name.toLowerCase()),
        ),
        [],
        JSON.stringify(headers),
      );
      // Nor is anything trace-like in the body, the event's business contract.
      const body = JSON.parse(message.value!.toString()) as Record<string, unknown>;
      assert.deepEqual(
        Object.keys(body).filter((key) => /trace|span/i.test(key)),
        [],
      );
      // What is there: the W3C trace context of the producer span, in the checkout's trace, sampled.
      assert.match(headers.traceparent ?? '', new RegExp(`^00-${placed.traceId}-[0-9a-f]{16}-01$`));
      assert.match(headers.baggage ?? '', new RegExp(`eshop\\.order\\.id=${placed.orderId}`));
    } finally {
      await consumer.disconnect();
    }
  });
});
