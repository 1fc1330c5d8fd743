// The span type every reader of traces here uses. Types only, and nothing from Node: the storefront's page,
// compiled for the browser, takes it too.

/** What a span is to the trace: OpenTelemetry's span kinds, as Jaeger tags them (`span.kind`). */
export type SpanKindName = 'server' | 'client' | 'producer' | 'consumer' | 'internal';

/** One span, with what Jaeger keeps apart resolved: its service, its kind, its parent and its links. */
export interface TraceSpan {
  traceId: string;
  spanId: string;
  /** Its parent in the same trace; absent for a trace's root. */
  parentSpanId?: string;
  service: string;
  name: string;
  kind: SpanKindName;
  /** Microseconds since the epoch. */
  startMicros: number;
  durationMicros: number;
  /** Whether its status is ERROR. */
  error: boolean;
  /** The spans, in other traces or its own, it links to (a consumer's producer, in `link` mode). */
  links: { traceId: string; spanId: string }[];
  attributes: Record<string, string | number | boolean>;
}
