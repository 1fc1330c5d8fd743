import type { SpanKindName, TraceSpan } from './span';

export type { SpanKindName, TraceSpan } from './span';

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
    tags: { key: string; type?: string; value: string | number | boolean }[];
    processID: string;
  }[];
  processes: Record<string, { serviceName: string }>;
}

const KINDS = new Set<string>(['server', 'client', 'producer', 'consumer', 'internal']);

/**
 * Jaeger's spans as `TraceSpan`s, oldest first, with the attributes `keep` takes (all unless told). Jaeger writes a
 * span's parent as a CHILD_OF reference within the trace, and its links as the other references.
 */
export function toTraceSpans(trace: JaegerTrace, keep: (attribute: string) => boolean = () => true): TraceSpan[] {
  return trace.spans
    .map((span): TraceSpan => {
      const tags = Object.fromEntries(span.tags.map((tag) => [tag.key, tag.value]));
      const attributes = Object.fromEntries(Object.entries(tags).filter(([key]) => keep(key)));
      const parent = span.references.find((ref) => ref.refType === 'CHILD_OF' && ref.traceID === span.traceID);
      const kind = String(tags['span.kind'] ?? 'internal');
      return {
        traceId: span.traceID,
        spanId: span.spanID,
        ...(parent ? { parentSpanId: parent.spanID } : {}),
        service: trace.processes[span.processID]?.serviceName ?? 'unknown',
        name: span.operationName,
        kind: (KINDS.has(kind) ? kind : 'internal') as SpanKindName,
        startMicros: span.startTime,
        durationMicros: span.duration,
        error: tags['otel.status_code'] === 'ERROR' || tags.error === true,
        links: span.references
          .filter((ref) => ref !== parent)
          .map((ref) => ({ traceId: ref.traceID, spanId: ref.spanID })),
        attributes,
      };
    })
    .sort((a, b) => a.startMicros - b.startMicros);
}

/** Jaeger did not answer, or answered with an error: the message says which, and where. */
export class JaegerUnavailableError extends Error {
  override readonly name = 'JaegerUnavailableError';
}

/** Which traces `find` looks through: those that started after `since`, or within `lookback` (`1h`, `15m`). */
export type Window = { since: Date } | { lookback: string };

/**
 * Reads traces from Jaeger's HTTP query API. A Jaeger that does not answer within `timeoutMs` (the body included),
 * or answers with an error, is a `JaegerUnavailableError`; a trace it does not have (yet) is no spans.
 */
export class JaegerQuery {
  constructor(
    readonly baseUrl: string,
    private readonly timeoutMs = 2000,
    /** The attributes to keep on the spans read (all unless told). */
    private readonly keep?: (attribute: string) => boolean,
  ) {}

  /** The trace's spans, oldest first; none while Jaeger does not have it (yet). */
  async trace(traceId: string): Promise<TraceSpan[]> {
    const traces = await this.get(`/api/traces/${encodeURIComponent(traceId)}`);
    return traces.flatMap((trace) => toTraceSpans(trace, this.keep));
  }

  /** The traces, newest first, with a span of `service` carrying all of `tags`. */
  async find(
    service: string,
    tags: Record<string, string>,
    window: Window = { lookback: '1h' },
  ): Promise<TraceSpan[][]> {
    const query = new URLSearchParams({ service, tags: JSON.stringify(tags), limit: '20' });
    if ('since' in window) {
      query.set('start', String(window.since.getTime() * 1000));
      query.set('end', String(Date.now() * 1000));
    } else {
      query.set('lookback', window.lookback);
    }
    const traces = await this.get(`/api/traces?${query.toString()}`);
    return traces.map((trace) => toTraceSpans(trace, this.keep));
  }

  private async get(path: string): Promise<JaegerTrace[]> {
    const where = `Jaeger's query API at ${this.baseUrl}`;
    let response: Response;
    let body: { data: JaegerTrace[] | null } | undefined;
    try {
      response = await fetch(`${this.baseUrl}${path}`, { signal: AbortSignal.timeout(this.timeoutMs) });
      if (response.ok) body = (await response.json()) as typeof body;
    } catch (error) {
      const timedOut = error instanceof Error && error.name === 'TimeoutError';
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new JaegerUnavailableError(
        timedOut ? `${where} did not answer within ${this.timeoutMs} ms` : `${where} failed: ${reason}`,
      );
    }
    if (response.status === 404) return [];
    if (!response.ok) throw new JaegerUnavailableError(`${where} answered ${response.status}`);
    return body?.data ?? [];
  }
}
