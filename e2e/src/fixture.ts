import { randomUUID } from 'node:crypto';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Kafka, logLevel, type Consumer, type KafkaMessage } from 'kafkajs';
import { createNotificationClient, type SentEmail } from '@eshop/notification/client';
import { CACHE_DIR } from '@eshop/scripts/paths';
import { SERVICES, Stack, type StackOptions } from '@eshop/scripts';
import { JaegerQuery, type TraceSpan } from '@eshop/jaeger-query';

export type { SentEmail } from '@eshop/notification/client';

const DEADLINE_MS = 30_000;
/** The tests' span export interval (OTEL_BSP_SCHEDULE_DELAY below). */
const EXPORT_INTERVAL_MS = 200;

export interface Order {
  email: string;
  items: { sku: string; quantity: number }[];
}

export const ORDER: Order = { email: 'ada@example.com', items: [{ sku: 'SKU-2', quantity: 3 }] };

export interface PlacedOrder {
  orderId: string;
  traceId: string;
  total: number;
}

/**
 * The real stack for one test file, started in `before` and stopped in `after` by the same code as `pnpm start`.
 * Spans are exported every 200 ms so that the tests' polls are short.
 */
export function useStack(name: string, options: Omit<StackOptions, 'output' | 'runDir'> = {}) {
  const env = { OTEL_BSP_SCHEDULE_DELAY: String(EXPORT_INTERVAL_MS) };
  const serviceEnv = Object.fromEntries(
    SERVICES.map((service) => [service, { ...env, ...options.serviceEnv?.[service] }]),
  );
  const context = {
    stack: undefined as unknown as Stack,
    jaeger: undefined as unknown as JaegerQuery,
  };
  before(async () => {
    context.stack = await Stack.start({
      ...options,
      serviceEnv,
      output: 'files',
      runDir: join(CACHE_DIR, `e2e-${name}`),
    });
    // Generous: a busy machine's Jaeger may be slow, and the tests poll with deadlines of their own.
    context.jaeger = new JaegerQuery(context.stack.jaegerQueryUrl, 30_000);
  });
  after(async () => {
    await context.stack?.stop();
  });
  return context;
}

/**
 * Polls `read` every `intervalMs` until `accept` takes what it returns, or fails naming `what` and the last value
 * seen.
 */
export async function poll<T>(
  what: string,
  read: () => T | Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = DEADLINE_MS,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await read();
      lastError = undefined;
      if (accept(last)) return last;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const seen = lastError instanceof Error ? String(lastError) : JSON.stringify(lastError ?? last)?.slice(0, 2000);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${seen}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<JsonResponse> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

/** What the helpers below need of a stack: where each service answers (a native Stack, or compose's). */
export type Endpoints = Pick<Stack, 'url'>;

export async function checkout(
  stack: Endpoints,
  order: Order = ORDER,
  headers: Record<string, string> = {},
): Promise<PlacedOrder> {
  const response = await postJson(`${stack.url('eshop')}/checkout`, order, headers);
  if (response.status !== 201)
    throw new Error(`checkout answered ${response.status}: ${JSON.stringify(response.body)}`);
  return response.body as PlacedOrder;
}

export function emailsFor(stack: Endpoints, orderId: string): Promise<SentEmail[]> {
  return createNotificationClient(stack.url('notification')).emails({ orderId });
}

/** The e-mail of an order, once notification has sent it: exactly one. */
export async function theEmail(stack: Stack, orderId: string): Promise<SentEmail> {
  const [email, ...more] = await poll(
    `the e-mail of order ${orderId}`,
    () => emailsFor(stack, orderId),
    (emails) => emails.length > 0,
  );
  assert.deepEqual(more, [], `one e-mail for order ${orderId}`);
  return email;
}

/** Every e-mail notification has sent, by order id (it keeps one per order). */
export async function emailsByOrder(stack: Endpoints): Promise<Map<string, SentEmail>> {
  const list = await createNotificationClient(stack.url('notification')).emails({ limit: 1000 });
  assert.ok(list.length < 1000, 'fewer e-mails than one answer of GET /emails can list');
  return new Map(list.map((email) => [email.orderId, email]));
}

/** The topics as a reader of them sees them, spelled out here rather than taken from the code under test. */
export const ORDERS_TOPIC = 'orders';
export const DEAD_LETTER_TOPIC = 'orders.DLQ';
export const CONSUMER_GROUP = 'kafka-consumer';

export function kafkaOf(stack: Stack, clientId: string): Kafka {
  return new Kafka({ clientId, brokers: stack.kafkaBrokers, logLevel: logLevel.NOTHING });
}

/** Reads `orders.DLQ` from its beginning, so a test can wait for the dead letter of an event. */
export class DeadLetters {
  readonly messages: KafkaMessage[] = [];
  private constructor(private readonly consumer: Consumer) {}

  static async read(stack: Stack): Promise<DeadLetters> {
    const consumer = kafkaOf(stack, 'e2e-dead-letters').consumer({ groupId: `e2e-dead-letters-${randomUUID()}` });
    const reader = new DeadLetters(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: [DEAD_LETTER_TOPIC], fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        reader.messages.push(message);
        return Promise.resolve();
      },
    });
    return reader;
  }

  async find(what: string, match: (message: KafkaMessage) => boolean): Promise<KafkaMessage> {
    const found = await poll(
      `the dead letter of ${what}`,
      () => this.messages.find(match),
      (message) => message !== undefined,
    );
    return found!;
  }

  /** The dead letter of an order's event: its key is the order id. */
  ofOrder(orderId: string): Promise<KafkaMessage> {
    return this.find(`order ${orderId}`, (message) => message.key?.toString() === orderId);
  }

  close(): Promise<void> {
    return this.consumer.disconnect();
  }
}

/**
 * Waits until Jaeger has the trace with at least `minSpans` spans and no further span has arrived for three
 * export intervals, so that a stray span exported late is counted too.
 */
export async function traceWithSpans(jaeger: JaegerQuery, traceId: string, minSpans: number): Promise<TraceSpan[]> {
  let spans = await poll(
    `trace ${traceId} with ${minSpans} spans`,
    () => jaeger.trace(traceId),
    (found) => (found?.length ?? 0) >= minSpans,
  );
  const deadline = Date.now() + DEADLINE_MS;
  let quietSince = Date.now();
  while (Date.now() - quietSince < 3 * EXPORT_INTERVAL_MS && Date.now() < deadline) {
    await delay(EXPORT_INTERVAL_MS / 2);
    const again = (await jaeger.trace(traceId)) ?? spans;
    if (again.length !== spans.length) {
      spans = again;
      quietSince = Date.now();
    }
  }
  return spans;
}

/** The parent of every span but the root is in the trace: nothing between the services is missing. */
export function assertWhole(spans: { id: string; parentId?: string }[], what: string): void {
  const ids = new Set(spans.map((span) => span.id));
  assert.equal(spans.filter((span) => span.parentId === undefined).length, 1, `${what}: one root`);
  assert.ok(
    spans.every((span) => span.parentId === undefined || ids.has(span.parentId)),
    `${what}: every parent present`,
  );
}

/**
 * Waits until every order has its e-mail, then checks there is exactly one each; returns order id → e-mail id.
 * Order by order, for more orders than one answer of GET /emails lists.
 */
export async function eachEmailedOnce(stack: Endpoints, orderIds: string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  await poll(
    `e-mails for all ${orderIds.length} orders`,
    async () => {
      for (const orderId of orderIds.filter((id) => !found.has(id))) {
        const [email] = await emailsFor(stack, orderId);
        if (email) found.set(orderId, email.emailId);
      }
      return found.size;
    },
    (size) => size === orderIds.length,
    120_000,
    1000,
  );
  for (const orderId of orderIds) {
    assert.equal((await emailsFor(stack, orderId)).length, 1, `e-mails for order ${orderId}`);
  }
  return found;
}
