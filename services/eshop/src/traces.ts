import { HttpError } from '@eshop/http';
import type { SpanKind, TraceSpan } from './storefront-api';

/** A trace as Jaeger's query API (`/api/traces...`) answers it. */
export interface JaegerTrace {
  traceID: string;
  spans: {
    traceID: string;
    spanID: string;
    operationName: string;
    references: { refType: 'CHILD_OF' | 'FOLLOWS_FROM'; traceID: string; spanID: string }[];
    startTime: number;
    duration: number;
    tags: { key: string; value: string | number | boolean }[];
    processID: string;
  }[];
  processes: Record<string, { serviceName: string }>;
}

const KINDS = new Set<string>(['server', 'client', 'producer', 'consumer', 'internal']);
/** The attributes the order page explains; the others stay in Jaeger. */
const SHOWN_ATTRIBUTE = /^(eshop\.|messaging\.destination\.name$|http\.response\.status_code$|error\.type$)/;

/** Jaeger's spans in the page's shape: parent and links resolved, the service named, oldest first. */
export function normaliseTrace(trace: JaegerTrace): TraceSpan[] {
  return trace.spans
    .map((span): TraceSpan => {
      const tags = Object.fromEntries(span.tags.map((tag) => [tag.key, tag.value]));
      const parent = span.references.find((ref) => ref.refType === 'CHILD_OF' && ref.traceID === span.traceID);
      const kind = String(tags['span.kind'] ?? 'internal');
      return {
        traceId: span.traceID,
        spanId: span.spanID,
        ...(parent ? { parentSpanId: parent.spanID } : {}),
        service: trace.processes[span.processID]?.serviceName ?? 'unknown',
        name: span.operationName,
        kind: (KINDS.has(kind) ? kind : 'internal') as SpanKind,
        startMicros: span.startTime,
        durationMicros: span.duration,
        error: tags['otel.status_code'] === 'ERROR' || tags.error === true,
        links: span.references
          .filter((ref) => ref !== parent)
          .map((ref) => ({ traceId: ref.traceID, spanId: ref.spanID })),
        attributes: Object.fromEntries(Object.entries(tags).filter(([key]) => SHOWN_ATTRIBUTE.test(key))),
      };
    })
    .sort((a, b) => a.startMicros - b.startMicros);
}

/**
 * Reads traces from Jaeger's query API (JAEGER_QUERY_URL). Jaeger not answering within `timeoutMs`, or answering
 * with an error, is a 503 for the page's request: the page shows it and asks again later.
 */
export class TraceReader {
  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs = 2000,
  ) {}

  /** The trace's spans; none while Jaeger does not have it (yet). */
  async trace(traceId: string): Promise<TraceSpan[]> {
    const traces = await this.get(`/api/traces/${encodeURIComponent(traceId)}`);
    return traces.flatMap(normaliseTrace);
  }

  /** The traces with a span of `service` carrying all of `tags`, that started after `since`. */
  async find(service: string, tags: Record<string, string>, since: Date): Promise<TraceSpan[]> {
    const query = new URLSearchParams({
      service,
      tags: JSON.stringify(tags),
      start: String(since.getTime() * 1000),
      end: String(Date.now() * 1000),
      limit: '20',
    });
    const traces = await this.get(`/api/traces?${query.toString()}`);
    return traces.flatMap(normaliseTrace);
  }

  private async get(path: string): Promise<JaegerTrace[]> {
    const where = `Jaeger's query API at ${this.baseUrl}`;
    let response: Response;
    let body: { data: JaegerTrace[] | null } | undefined;
    try {
      // The timeout covers the body too: a Jaeger that sends its headers and then stalls fails the same way.
      response = await fetch(`${this.baseUrl}${path}`, { signal: AbortSignal.timeout(this.timeoutMs) });
      if (response.ok) body = (await response.json()) as typeof body;
    } catch (error) {
      const timedOut = error instanceof Error && error.name === 'TimeoutError';
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw unavailable(
        timedOut ? `${where} did not answer within ${this.timeoutMs} ms` : `${where} failed: ${reason}`,
      );
    }
    if (response.status === 404) return [];
    if (!response.ok) throw unavailable(`${where} answered ${response.status}`);
    return body?.data ?? [];
  }
}

function unavailable(detail: string): HttpError {
  return new HttpError(503, 'Traces unavailable', {
    detail,
    headers: { 'Retry-After': '2' },
    errorType: 'jaeger_unavailable',
  });
}
