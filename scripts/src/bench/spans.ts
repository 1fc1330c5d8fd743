import { setTimeout as delay } from 'node:timers/promises';
import type { JaegerQuery } from '@eshop/jaeger-query';

/**
 * The spans of one complete checkout trace: eshop's server span, three calls (client + callee's server), the
 * producer, the consumer, the consumer's call to notification and notification's server span.
 */
export const SPANS_PER_CHECKOUT = 11;
/** Jaeger is asked about this many traces at a time. */
const CONCURRENCY = 16;
/** How long the counts may stay the same before they are taken as final: a few of the services' export delays. */
const QUIET_MS = 5000;

export interface SpanCount {
  traces: number;
  expectedSpans: number;
  receivedSpans: number;
  /** Traces with fewer spans than a complete checkout has, including those Jaeger has none of. */
  incompleteTraces: number;
}

/**
 * Counts the spans Jaeger has of each trace, asking again about the incomplete ones until all are complete or
 * nothing more arrived for `QUIET_MS`.
 */
export async function countSpans(jaeger: JaegerQuery, traceIds: string[], timeoutMs: number): Promise<SpanCount> {
  const received = new Map(traceIds.map((id) => [id, 0]));
  const deadline = Date.now() + timeoutMs;
  let lastChange = Date.now();
  for (;;) {
    const incomplete = [...received].filter(([, spans]) => spans < SPANS_PER_CHECKOUT).map(([id]) => id);
    let changed = false;
    for (let i = 0; i < incomplete.length; i += CONCURRENCY) {
      await Promise.all(
        incomplete.slice(i, i + CONCURRENCY).map(async (id) => {
          const spans = (await jaeger.trace(id)).length;
          if (spans !== received.get(id)) changed = true;
          received.set(id, spans);
        }),
      );
    }
    if (changed) lastChange = Date.now();
    const done = [...received.values()].every((spans) => spans >= SPANS_PER_CHECKOUT);
    if (done || Date.now() - lastChange >= QUIET_MS || Date.now() > deadline) break;
    await delay(500);
  }
  const counts = [...received.values()];
  return {
    traces: counts.length,
    expectedSpans: counts.length * SPANS_PER_CHECKOUT,
    receivedSpans: counts.reduce((sum, spans) => sum + spans, 0),
    incompleteTraces: counts.filter((spans) => spans < SPANS_PER_CHECKOUT).length,
  };
}
