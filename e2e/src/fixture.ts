import { join } from 'node:path';
import { after, before } from 'node:test';
import { CACHE_DIR } from '@eshop/scripts/paths';
import { Stack, type ServiceName, type StackOptions } from '@eshop/scripts';
import { JaegerQuery, type Span } from '@eshop/scripts/jaeger';

const DEADLINE_MS = 30_000;

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

export interface SentEmail {
  emailId: string;
  orderId: string;
  traceId: string;
}

/**
 * The real stack for one test file, started in `before` and stopped in `after` by the same code as `pnpm start`.
 * Spans are exported every 200 ms so that the tests' polls are short.
 */
export function useStack(name: string, options: Omit<StackOptions, 'output' | 'runDir'> = {}) {
  const env = { OTEL_BSP_SCHEDULE_DELAY: '200' };
  const serviceEnv = Object.fromEntries(
    (['eshop', 'inventory', 'billing', 'delivery', 'notification', 'kafka-consumer'] as ServiceName[]).map(
      (service) => [service, { ...env, ...options.serviceEnv?.[service] }],
    ),
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
    context.jaeger = new JaegerQuery(context.stack.jaegerQueryUrl);
  });
  after(async () => {
    await context.stack?.stop();
  });
  return context;
}

/** Polls `read` until `accept` takes what it returns, or fails naming `what` and the last value seen. */
export async function poll<T>(
  what: string,
  read: () => T | Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = DEADLINE_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await read();
      if (accept(last)) return last;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const seen = lastError instanceof Error ? String(lastError) : JSON.stringify(lastError ?? last)?.slice(0, 2000);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${seen}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
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

export async function checkout(
  stack: Stack,
  order: Order = ORDER,
  headers: Record<string, string> = {},
): Promise<PlacedOrder> {
  const response = await postJson(`${stack.url('eshop')}/checkout`, order, headers);
  if (response.status !== 201)
    throw new Error(`checkout answered ${response.status}: ${JSON.stringify(response.body)}`);
  return response.body as PlacedOrder;
}

export async function emailsFor(stack: Stack, orderId: string): Promise<SentEmail[]> {
  const response = await fetch(`${stack.url('notification')}/emails?orderId=${orderId}`);
  return (await response.json()) as SentEmail[];
}

/** Waits until Jaeger has the trace with at least `minSpans` spans, then a little longer, for stragglers. */
export async function traceWithSpans(jaeger: JaegerQuery, traceId: string, minSpans: number): Promise<Span[]> {
  return poll(
    `trace ${traceId} with ${minSpans} spans`,
    () => jaeger.trace(traceId),
    (spans) => (spans?.length ?? 0) >= minSpans,
  ).then((spans) => spans!);
}
