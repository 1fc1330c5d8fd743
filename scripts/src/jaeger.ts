/** The parts of Jaeger's HTTP query API (`/api/...`) that the trace printer and the tests read. */

export interface JaegerTag {
  key: string;
  type: string;
  value: string | number | boolean;
}

export interface JaegerReference {
  refType: 'CHILD_OF' | 'FOLLOWS_FROM';
  traceID: string;
  spanID: string;
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: JaegerReference[];
  startTime: number;
  duration: number;
  tags: JaegerTag[];
  processID: string;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

/** A span with what the printer and the tests ask of it resolved: its service, kind, tags and parent. */
export interface Span {
  traceId: string;
  spanId: string;
  name: string;
  service: string;
  kind: string;
  startMicros: number;
  durationMicros: number;
  tags: Record<string, string | number | boolean>;
  parentId?: string;
  links: JaegerReference[];
}

export function flatten(trace: JaegerTrace): Span[] {
  return trace.spans
    .map((span) => {
      const tags = Object.fromEntries(span.tags.map((tag) => [tag.key, tag.value]));
      const parent = span.references.find((ref) => ref.refType === 'CHILD_OF' && ref.traceID === span.traceID);
      return {
        traceId: span.traceID,
        spanId: span.spanID,
        name: span.operationName,
        service: trace.processes[span.processID]?.serviceName ?? '?',
        kind: String(tags['span.kind'] ?? 'internal'),
        startMicros: span.startTime,
        durationMicros: span.duration,
        tags,
        parentId: parent?.spanID,
        links: span.references.filter((ref) => ref !== parent),
      };
    })
    .sort((a, b) => a.startMicros - b.startMicros);
}

export class JaegerQuery {
  constructor(readonly baseUrl: string) {}

  /** The trace, or undefined while Jaeger does not have it (yet). */
  async trace(traceId: string): Promise<Span[] | undefined> {
    const response = await fetch(`${this.baseUrl}/api/traces/${traceId}`);
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`Jaeger answered ${response.status} for trace ${traceId}`);
    const body = (await response.json()) as { data: JaegerTrace[] };
    return body.data[0] ? flatten(body.data[0]) : undefined;
  }

  /** Traces with a span of `service` that has all of `tags`, newest first. */
  async find(service: string, tags: Record<string, string>, lookback = '1h'): Promise<Span[][]> {
    const query = new URLSearchParams({ service, tags: JSON.stringify(tags), lookback, limit: '20' });
    const response = await fetch(`${this.baseUrl}/api/traces?${query.toString()}`);
    if (!response.ok) throw new Error(`Jaeger answered ${response.status} to a search for ${query.toString()}`);
    const body = (await response.json()) as { data: JaegerTrace[] };
    return body.data.map(flatten);
  }
}
