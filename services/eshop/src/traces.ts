import { HttpError } from '@eshop/http';
import { JaegerQuery, JaegerUnavailableError, type TraceSpan } from '@eshop/jaeger-query';

/** The attributes the order page explains; the others stay in Jaeger. */
const SHOWN_ATTRIBUTE = /^(eshop\.|messaging\.destination\.name$|http\.response\.status_code$|error\.type$)/;

const shown = (attribute: string) => SHOWN_ATTRIBUTE.test(attribute);

/**
 * Reads the page's traces from Jaeger's query API (JAEGER_QUERY_URL). Jaeger not answering within `timeoutMs`, or
 * answering with an error, is a 503 for the page's request: the page shows it and asks again later.
 */
export class TraceReader {
  private readonly jaeger: JaegerQuery;

  constructor(baseUrl: string, timeoutMs = 2000) {
    this.jaeger = new JaegerQuery(baseUrl, timeoutMs, shown);
  }

  /** The trace's spans; none while Jaeger does not have it (yet). */
  trace(traceId: string): Promise<TraceSpan[]> {
    return this.read(() => this.jaeger.trace(traceId));
  }

  /** The spans of the traces with a span of `service` carrying all of `tags`, that started after `since`. */
  find(service: string, tags: Record<string, string>, since: Date): Promise<TraceSpan[]> {
    return this.read(async () => (await this.jaeger.find(service, tags, { since })).flat());
  }

  private async read(query: () => Promise<TraceSpan[]>): Promise<TraceSpan[]> {
    try {
      return await query();
    } catch (error) {
      if (!(error instanceof JaegerUnavailableError)) throw error;
      throw new HttpError(503, 'Traces unavailable', {
        detail: error.message,
        headers: { 'Retry-After': '2' },
        errorType: 'jaeger_unavailable',
      });
    }
  }
}
