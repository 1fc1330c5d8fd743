import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import {
  defaultTextMapGetter,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  trace,
  type Span,
  type SpanContext,
  type TextMapPropagator,
} from '@opentelemetry/api';
import type { Logger } from '@eshop/logger';

/** Each trace-context format, by the header that names the trace, with the headers that travel with it. */
const FORMATS: Record<string, string[]> = {
  traceparent: ['traceparent', 'tracestate'],
  'x-b3-traceid': ['x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'x-b3-sampled', 'x-b3-flags'],
  b3: ['b3'],
};

/** A single `b3` header that carries only a sampling decision names no trace. */
const B3_SAMPLING_ONLY = /^[01d]$/;

export interface IgnoredHeader {
  header: string;
  reason: string;
}

export interface TraceHeaderReport {
  /** The headers the request's trace does not follow, and why. */
  ignored: IgnoredHeader[];
  /** True when no header named the trace the request runs in: it starts a fresh one. */
  freshTrace: boolean;
}

/**
 * Whether a format's headers are exactly what the propagators write for `parent`: then they name it, and the
 * request follows it, with nothing to extract again. The headers of the services' calls to one another all are.
 */
function nameParent(header: string, headers: IncomingHttpHeaders, parent: SpanContext): boolean {
  const flags = parent.traceFlags.toString(16).padStart(2, '0');
  if (header === 'traceparent') return headers.traceparent === `00-${parent.traceId}-${parent.spanId}-${flags}`;
  if (header === 'x-b3-traceid') {
    return headers['x-b3-traceid'] === parent.traceId && headers['x-b3-spanid'] === parent.spanId;
  }
  return false;
}

/**
 * The trace headers of a request that its trace does not follow, as the propagators themselves judge them, one
 * format at a time: one they cannot read, and one naming another trace than `traceId`, the trace the request
 * runs in (when W3C and B3 disagree, the last propagator configured wins). The propagators say neither: they
 * start a fresh trace, or follow the other header, without a word. A format that names `parent`, the server span's
 * parent, exactly as the propagators write it is followed as it stands: the common case costs no second extract.
 */
export function inspectTraceHeaders(
  headers: IncomingHttpHeaders,
  traceId: string,
  propagator: Pick<TextMapPropagator, 'extract'> = propagation,
  parent?: SpanContext,
): TraceHeaderReport {
  const ignored: IgnoredHeader[] = [];
  let followed = false;
  for (const [header, names] of Object.entries(FORMATS)) {
    const value = headers[header];
    if (value === undefined || (header === 'b3' && B3_SAMPLING_ONLY.test(String(value)))) continue;
    if (parent?.traceId === traceId && nameParent(header, headers, parent)) {
      followed = true;
      continue;
    }
    const carrier = Object.fromEntries(names.map((name) => [name, headers[name]]));
    const named = trace.getSpanContext(propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter));
    if (!named || !isSpanContextValid(named)) {
      ignored.push({ header, reason: 'not a trace context the propagators can read' });
    } else if (named.traceId !== traceId) {
      ignored.push({ header, reason: 'names another trace than the one the request follows' });
    } else {
      followed = true;
    }
  }
  return { ignored, freshTrace: !followed };
}

/**
 * For the http instrumentation's `requestHook`: when the server span of an incoming request does not follow all
 * its trace headers, logs one warning naming each ignored header and why, and whether the request therefore runs
 * in a fresh trace rather than the caller's. Never refuses a request for its trace headers.
 */
export function warnOfIgnoredTraceHeaders(log: Logger, span: Span, request: IncomingMessage): void {
  const { traceId, spanId } = span.spanContext();
  // The SDK's spans know their parent (a ReadableSpan's `parentSpanContext`); the API's interface does not say so.
  const { parentSpanContext } = span as { parentSpanContext?: SpanContext };
  const { ignored, freshTrace } = inspectTraceHeaders(request.headers, traceId, propagation, parentSpanContext);
  if (ignored.length === 0) return;
  // The reasons only, never the values: they come from outside and may be huge or hostile.
  log.warn(
    { trace_id: traceId, span_id: spanId, ignored, fresh_trace: freshTrace, method: request.method, path: request.url },
    freshTrace ? 'ignored trace headers: the request starts a fresh trace' : 'ignored trace headers',
  );
}
