import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { IHeaders, Kafka, Producer } from 'kafkajs';
import type { ServiceName } from '@eshop/scripts';
import {
  CONSUMER_GROUP,
  DEAD_LETTER_TOPIC,
  DeadLetters,
  emailsByOrder,
  emailsFor,
  kafkaOf,
  ORDER,
  ORDERS_TOPIC,
  poll,
  useStack,
  type SentEmail,
} from '../src/fixture';

const MAX_ATTEMPTS = 4;

const context = useStack('kafka-failures', {
  serviceEnv: {
    'kafka-consumer': {
      NOTIFICATION_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
      NOTIFICATION_RETRY_BASE_MS: '100',
      NOTIFICATION_RETRY_MAX_MS: '400',
      // A killed consumer holds its partitions this long; the default 30 s would only slow the test down.
      KAFKA_SESSION_TIMEOUT_MS: '10000',
    },
  },
});

/** A valid `OrderPlaced` event, as eshop publishes it. */
const orderPlaced = (orderId: string) => ({
  type: 'OrderPlaced',
  orderId,
  email: ORDER.email,
  items: ORDER.items,
  total: 30,
  currency: 'EUR',
  placedAt: new Date().toISOString(),
});

/** A W3C trace context of the test's own, so the message's trace can be found in Jaeger. */
function newTraceContext() {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

const header = (headers: IHeaders | undefined, name: string) => headers?.[name]?.toString();

const emails = () => emailsByOrder(context.stack);

/** Waits until every one of `orderIds` has its e-mail, and checks that there is exactly one each. */
async function allEmailed(orderIds: string[]): Promise<Map<string, SentEmail>> {
  const sent = await poll(
    `e-mails for all ${orderIds.length} orders`,
    emails,
    (sent) => orderIds.every((orderId) => sent.has(orderId)),
    60_000,
  );
  for (const orderId of orderIds) {
    assert.equal((await emailsFor(context.stack, orderId)).length, 1, `e-mails for order ${orderId}`);
  }
  return sent;
}

async function isReady(service: ServiceName): Promise<boolean> {
  const response = await fetch(`${context.stack.url(service)}/readyz`).catch(() => undefined);
  return response?.status === 200;
}

async function restartConsumer(extraEnv: NodeJS.ProcessEnv = {}) {
  assert.equal(await context.stack.stopService('kafka-consumer'), 0, 'kafka-consumer exit code after SIGTERM');
  await context.stack.startService('kafka-consumer', extraEnv);
}

/**
 * The tests that read and write the topics themselves. Their clients are closed before the broker restart below,
 * so that no client of the test is left retrying against a broker that went away.
 */
describe('kafka-consumer against a real broker', () => {
  let kafka: Kafka;
  let producer: Producer;
  let deadLetters: DeadLetters;

  before(async () => {
    kafka = kafkaOf(context.stack, 'e2e-kafka-failures');
    producer = kafka.producer();
    await producer.connect();
    deadLetters = await DeadLetters.read(context.stack);
  });

  after(async () => {
    await deadLetters?.close();
    await producer?.disconnect();
  });

  /**
   * Puts messages that share one key on `orders` in one request: one partition, in order, so each one's place is
   * the batch's base offset plus its index.
   */
  async function produce(messages: { key: string; value: string | Buffer; headers?: IHeaders; timestamp?: string }[]) {
    const [{ partition, baseOffset }] = await producer.send({ topic: ORDERS_TOPIC, acks: -1, messages });
    return messages.map((_, index) => ({ partition, offset: String(Number(baseOffset) + index) }));
  }

  /**
   * Produces events one at a time, each under its own order id, and returns where each landed. `timestamp`, when
   * given, is every event's Kafka timestamp, from which the consumer measures its time in the queue.
   */
  async function produceOrders(
    orderIds: string[],
    timestamp?: number,
  ): Promise<Map<string, { partition: number; offset: string }>> {
    const placed = new Map<string, { partition: number; offset: string }>();
    for (const orderId of orderIds) {
      const [where] = await produce([
        { key: orderId, value: JSON.stringify(orderPlaced(orderId)), timestamp: timestamp?.toString() },
      ]);
      placed.set(orderId, where);
    }
    return placed;
  }

  /** The consumer group's committed offset per partition of `orders` (the next message it will read). */
  async function committedOffsets(): Promise<Map<number, number>> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [topic] = await admin.fetchOffsets({ groupId: CONSUMER_GROUP, topics: [ORDERS_TOPIC] });
      return new Map(topic.partitions.map(({ partition, offset }) => [partition, Number(offset)]));
    } finally {
      await admin.disconnect();
    }
  }

  it('dead-letters poison messages with their headers, and processes the good message behind them', async () => {
    // One key, so one partition: the good message comes after the poison ones.
    const key = `poison-${randomUUID()}`;
    const poison = [
      { reason: 'not-json', value: Buffer.from('{"type":"OrderPlaced","orderId":') },
      { reason: 'invalid-event', value: JSON.stringify({ ...orderPlaced('order-without-items'), items: [] }) },
    ].map((message) => ({ ...message, id: randomUUID(), trace: newTraceContext() }));
    const goodOrderId = `e2e-${randomUUID()}`;
    const places = await produce([
      ...poison.map(({ value, id, trace }) => ({
        key,
        value,
        headers: { traceparent: trace.traceparent, 'x-e2e-case': id },
      })),
      { key, value: JSON.stringify(orderPlaced(goodOrderId)) },
    ]);

    for (const [index, { reason, value, id, trace }] of poison.entries()) {
      const letter = await deadLetters.find(
        `the ${reason} message`,
        (message) => header(message.headers, 'x-e2e-case') === id,
      );
      assert.deepEqual(letter.value, Buffer.from(value), `${reason}: the value is kept byte for byte`);
      assert.equal(letter.key?.toString(), key);
      assert.equal(header(letter.headers, 'x-dlq-reason'), reason);
      assert.ok(header(letter.headers, 'x-dlq-error'), `${reason}: x-dlq-error says what is wrong`);
      assert.equal(header(letter.headers, 'x-dlq-topic'), ORDERS_TOPIC);
      assert.equal(header(letter.headers, 'x-dlq-partition'), String(places[index].partition));
      assert.equal(header(letter.headers, 'x-dlq-offset'), places[index].offset);
      assert.equal(header(letter.headers, 'x-dlq-attempts'), '1');
      // The producer's trace context is kept; the live one continues the same trace from the dead-lettering span.
      assert.equal(header(letter.headers, 'x-dlq-original-traceparent'), trace.traceparent);
      assert.equal(header(letter.headers, 'traceparent')?.split('-')[1], trace.traceId);
    }
    await allEmailed([goodOrderId]);

    // The dead-lettering is in the message's own trace: a failed consumer span, and under it the send to the DLQ.
    const { trace } = poison[0];
    const spans = await poll(
      `trace ${trace.traceId} with the consumer span and the dead-letter send`,
      () => context.jaeger.trace(trace.traceId),
      (spans) => (spans ?? []).some((span) => span.name === `send ${DEAD_LETTER_TOPIC}`),
    );
    const consumerSpan = spans.find((span) => span.service === 'kafka-consumer' && span.kind === 'consumer');
    const sendSpan = spans.find((span) => span.name === `send ${DEAD_LETTER_TOPIC}`);
    assert.ok(consumerSpan, 'consumer span');
    assert.equal(consumerSpan.parentSpanId, trace.spanId, 'the consumer span continues the producer trace');
    assert.equal(consumerSpan.attributes['otel.status_code'], 'ERROR');
    assert.equal(consumerSpan.attributes['error.type'], 'not-json');
    assert.equal(consumerSpan.attributes['eshop.dlq.reason'], 'not-json');
    assert.equal(sendSpan?.kind, 'producer');
    assert.equal(sendSpan?.parentSpanId, consumerSpan.spanId, 'the dead-letter send is a child of the consumer span');
  });

  describe('with a notification that fails on request', () => {
    /**
     * Stands between kafka-consumer and notification: answers an order's scripted failures as notification itself
     * would, in problem+json ('no answer' drops the connection; a bare 5xx would be a proxy's, retried without
     * end), then passes its requests on, trace headers included, to the real notification.
     */
    const failures = new Map<string, (number | 'no answer')[]>();
    const attempts = new Map<string, number>();
    const proxy = createServer((request, response) => {
      const answer = async () => {
        const body = Buffer.concat(await request.toArray());
        const { orderId } = JSON.parse(body.toString() || '{}') as { orderId?: string };
        attempts.set(String(orderId), (attempts.get(String(orderId)) ?? 0) + 1);
        const failure = failures.get(String(orderId))?.shift();
        if (failure === 'no answer') return void request.socket.destroy();
        if (failure !== undefined)
          return void response
            .writeHead(failure, { 'content-type': 'application/problem+json' })
            .end(JSON.stringify({ title: 'Scripted failure', status: failure }));
        const { host: _host, connection: _connection, 'content-length': _length, ...headers } = request.headers;
        const upstream = await fetch(`${context.stack.url('notification')}${request.url}`, {
          method: request.method,
          headers: headers as Record<string, string>,
          body: request.method === 'POST' ? body : undefined,
        });
        response.writeHead(upstream.status, {
          'content-type': upstream.headers.get('content-type') ?? 'application/json',
        });
        response.end(Buffer.from(await upstream.arrayBuffer()));
      };
      answer().catch(() => response.writeHead(502).end());
    });

    before(async () => {
      proxy.listen(0, '127.0.0.1');
      await new Promise((resolve) => proxy.once('listening', resolve));
      await restartConsumer({ NOTIFICATION_URL: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` });
    });

    after(async () => {
      await restartConsumer();
      proxy.close();
    });

    /** Produces one event under a trace of the test's own, after scripting notification's answers for it. */
    async function produceFailing(script: (number | 'no answer')[]) {
      const orderId = `e2e-${randomUUID()}`;
      const trace = newTraceContext();
      failures.set(orderId, script);
      const [place] = await produce([
        { key: orderId, value: JSON.stringify(orderPlaced(orderId)), headers: { traceparent: trace.traceparent } },
      ]);
      return { orderId, trace, place };
    }

    it('retries no answer, 5xx and 429, then sends the one e-mail', async () => {
      const { orderId, trace } = await produceFailing(['no answer', 503, 429]);
      await allEmailed([orderId]);
      assert.equal(attempts.get(orderId), 4);

      const spans = await poll(
        `trace ${trace.traceId} with four calls to notification`,
        () => context.jaeger.trace(trace.traceId),
        (spans) =>
          (spans ?? []).filter((span) => span.service === 'kafka-consumer' && span.kind === 'client').length === 4,
      );
      const consumerSpan = spans.find((span) => span.service === 'kafka-consumer' && span.kind === 'consumer')!;
      assert.equal(consumerSpan.attributes['eshop.notification.attempts'], 4);
      assert.notEqual(consumerSpan.attributes['otel.status_code'], 'ERROR');
      const calls = spans.filter((span) => span.service === 'kafka-consumer' && span.kind === 'client');
      assert.ok(
        calls.every((call) => call.parentSpanId === consumerSpan.spanId),
        'every attempt is a child of the consumer span',
      );
    });

    it('dead-letters an order notification refuses (4xx), after one attempt', async () => {
      const { orderId, place } = await produceFailing([422]);
      const letter = await deadLetters.ofOrder(orderId);
      assert.equal(header(letter.headers, 'x-dlq-reason'), 'rejected');
      assert.equal(header(letter.headers, 'x-dlq-attempts'), '1');
      assert.equal(header(letter.headers, 'x-dlq-partition'), String(place.partition));
      assert.equal(header(letter.headers, 'x-dlq-offset'), place.offset);
      assert.equal(attempts.get(orderId), 1);
      assert.equal((await emails()).has(orderId), false, 'no e-mail for a refused order');
    });

    it('dead-letters after the last attempt when notification keeps failing', async () => {
      const { orderId, place } = await produceFailing(Array.from({ length: MAX_ATTEMPTS }, () => 503));
      const letter = await deadLetters.ofOrder(orderId);
      assert.equal(header(letter.headers, 'x-dlq-reason'), 'retries-exhausted');
      assert.equal(header(letter.headers, 'x-dlq-attempts'), String(MAX_ATTEMPTS));
      assert.equal(header(letter.headers, 'x-dlq-offset'), place.offset);
      assert.equal(attempts.get(orderId), MAX_ATTEMPTS);
      assert.equal((await emails()).has(orderId), false, 'no e-mail after the attempts ran out');
    });
  });

  it('shows the consumer slowdown fault as queue time on the consumer spans', async () => {
    const delayMs = 300;
    await restartConsumer({ FAULT_CONSUMER_DELAY_MS: String(delayMs) });
    const orderIds = Array.from({ length: 8 }, () => `e2e-${randomUUID()}`);
    // One timestamp for all eight, as if placed at the same instant: however long producing them takes, the
    // queue time of each then includes the pauses of every message of its partition processed before it.
    const places = await produceOrders(orderIds, Date.now());
    await allEmailed(orderIds);
    const consumerSpans = await Promise.all(
      orderIds.map((orderId) =>
        poll(
          `the consumer span of order ${orderId}`,
          async () => (await context.jaeger.find('kafka-consumer', { 'eshop.order.id': orderId })).flat(),
          (spans) => spans.some((span) => span.kind === 'consumer'),
        ).then((spans) => spans.find((span) => span.kind === 'consumer')!),
      ),
    );
    assert.ok(
      consumerSpans.every(
        (span) =>
          span.attributes['eshop.fault'] === 'consumer-slow' && span.attributes['eshop.fault.setting'] === delayMs,
      ),
    );
    // Each partition's messages are processed one after another, each after the fault's pause: in every partition
    // the last one waited behind all those before it. (Eight orders on three partitions: one has three or more.)
    const queueTimes = new Map<number, number[]>();
    consumerSpans.forEach((span, i) => {
      const { partition } = places.get(orderIds[i])!;
      queueTimes.set(partition, [
        ...(queueTimes.get(partition) ?? []),
        Number(span.attributes['eshop.kafka.queue_time_ms']),
      ]);
    });
    for (const [partition, times] of queueTimes) {
      const bound = (times.length - 1) * delayMs;
      assert.ok(Math.max(...times) >= bound, `partition ${partition}: queue times ${times.join(', ')} ms, ≥ ${bound}`);
    }
  });

  it('on SIGTERM mid-stream, finishes and commits the message in hand, exits 0, and the next run sends the rest once', async () => {
    await restartConsumer({ FAULT_CONSUMER_DELAY_MS: '100' });
    const orderIds = Array.from({ length: 30 }, () => `e2e-${randomUUID()}`);
    const places = await produceOrders(orderIds);
    await poll('the first e-mails', emails, (sent) => orderIds.filter((id) => sent.has(id)).length >= 5);

    assert.equal(await context.stack.stopService('kafka-consumer'), 0, 'exit code after SIGTERM');
    const committed = await committedOffsets();
    const before = await emails();
    const isCommitted = (orderId: string) =>
      Number(places.get(orderId)!.offset) < (committed.get(places.get(orderId)!.partition) ?? 0);
    const sentBefore = orderIds.filter((orderId) => before.has(orderId));
    assert.ok(sentBefore.length < orderIds.length, 'stopped mid-stream');
    assert.deepEqual(orderIds.filter(isCommitted), sentBefore, 'exactly the e-mailed orders are committed');

    await context.stack.startService('kafka-consumer');
    const after = await allEmailed(orderIds);
    for (const orderId of sentBefore) assert.equal(after.get(orderId)!.emailId, before.get(orderId)!.emailId);
  });

  it('after a SIGKILL mid-stream, the consumer the supervisor restarts sends every e-mail exactly once', async () => {
    await restartConsumer({ FAULT_CONSUMER_DELAY_MS: '100' });
    const orderIds = Array.from({ length: 40 }, () => `e2e-${randomUUID()}`);
    const places = await produceOrders(orderIds.slice(0, 15));
    await poll('the first e-mails', emails, (sent) => orderIds.filter((id) => sent.has(id)).length >= 3);
    await context.stack.killService('kafka-consumer');
    for (const [orderId, place] of await produceOrders(orderIds.slice(15))) places.set(orderId, place);

    const committed = await committedOffsets();
    const before = await emails();
    const sentBefore = orderIds.filter((orderId) => before.has(orderId));
    assert.ok(sentBefore.length < 15, 'killed before it got through the first fifteen');
    assert.ok(
      [...committed.values()].some((offset) => offset > 0),
      'offsets were committed before the kill',
    );
    for (const orderId of orderIds) {
      const { partition, offset } = places.get(orderId)!;
      if (Number(offset) < (committed.get(partition) ?? 0))
        assert.ok(before.has(orderId), `order ${orderId} committed before its e-mail`);
    }

    await context.stack.untilReady('kafka-consumer');
    const after = await allEmailed(orderIds);
    for (const orderId of sentBefore) assert.equal(after.get(orderId)!.emailId, before.get(orderId)!.emailId);
  });
});

it('accepts every checkout while the broker restarts, and e-mails each exactly once, in its trace, once the broker is back', async () => {
  const placed = new Map<string, string>(); // order id → trace id
  const outcomes = { refused: 0, placedWhileDown: 0, placedAfterRestart: 0 };
  let phase: 'up' | 'down' | 'restarted' = 'up';
  let stop = false;
  const shopper = async () => {
    for (let count = 0; !stop && count < 600; count++) {
      const during = phase;
      const response = await fetch(`${context.stack.url('eshop')}/checkout`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(ORDER),
        signal: AbortSignal.timeout(30_000),
      }).catch(() => undefined);
      if (response?.status === 201) {
        const { orderId, traceId } = (await response.json()) as { orderId: string; traceId: string };
        placed.set(orderId, traceId);
        if (during === 'down') outcomes.placedWhileDown++;
        if (during === 'restarted') outcomes.placedAfterRestart++;
      } else {
        outcomes.refused++;
        await response?.body?.cancel();
      }
      // A steady pace, so that the run places a few hundred orders rather than thousands.
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const shoppers = [shopper(), shopper()];
  try {
    await poll(
      'checkouts before the restart',
      () => placed.size,
      (count) => count >= 10,
    );
    await context.stack.stopKafka();
    phase = 'down';
    await poll(
      'checkouts accepted while the broker is down',
      () => outcomes.placedWhileDown,
      (count) => count >= 10,
    );
    await context.stack.startKafka();
    phase = 'restarted';
    await poll(
      'checkouts after the restart',
      () => outcomes.placedAfterRestart,
      (count) => count >= 10,
      90_000,
    );
  } finally {
    stop = true;
    await Promise.all(shoppers);
  }

  // eshop needs no broker to take a checkout: its outbox keeps the event until the broker is back.
  assert.equal(outcomes.refused, 0, 'checkouts refused');
  const sent = await allEmailed([...placed.keys()]);
  for (const [orderId, traceId] of placed)
    assert.equal(sent.get(orderId)!.traceId, traceId, `the e-mail of ${orderId} is in its checkout's trace`);
  for (const service of ['eshop', 'kafka-consumer'] as const) {
    await poll(
      `${service} ready again`,
      () => isReady(service),
      (ready) => ready,
    );
  }
  console.log(
    `broker restart: ${placed.size} checkouts placed (${outcomes.placedWhileDown} while the broker was down), ` +
      'none refused, each e-mailed once',
  );
});
