import { QUEUE_TIME_ATTRIBUTE } from '@eshop/events';
import type { TraceSpan } from '@eshop/jaeger-query';

const ms = (micros: number) => `${(micros / 1000).toFixed(1)} ms`;

/**
 * The span tree of one trace as text: service, span name, kind and duration, with the Kafka hop spelled out
 * (how long the message waited in the topic) and links to other traces named.
 */
export function renderTraceTree(spans: TraceSpan[]): string {
  const ids = new Set(spans.map((span) => span.spanId));
  const children = new Map<string | undefined, TraceSpan[]>();
  for (const span of spans) {
    const parent = span.parentSpanId && ids.has(span.parentSpanId) ? span.parentSpanId : undefined;
    children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  const lines: string[] = [];
  const visit = (span: TraceSpan, depth: number) => {
    const notes = [];
    const queueTime = span.attributes[QUEUE_TIME_ATTRIBUTE];
    if (queueTime !== undefined) notes.push(`waited ${queueTime} ms in Kafka`);
    if (span.attributes['messaging.destination.name'])
      notes.push(`topic ${span.attributes['messaging.destination.name']}`);
    if (span.attributes['http.response.status_code'])
      notes.push(`HTTP ${span.attributes['http.response.status_code']}`);
    if (span.error) notes.push('ERROR');
    for (const link of span.links) notes.push(`linked to ${link.traceId}/${link.spanId}`);
    const label = `${'  '.repeat(depth)}${span.service}: ${span.name} [${span.kind}] ${ms(span.durationMicros)}`;
    lines.push(notes.length > 0 ? `${label}  (${notes.join(', ')})` : label);
    for (const child of children.get(span.spanId) ?? []) visit(child, depth + 1);
  };
  for (const root of children.get(undefined) ?? []) visit(root, 0);
  return lines.join('\n');
}
