import { SpanStatusCode, type Span } from '@opentelemetry/api';

/**
 * Marks `span` as failed the way the conventions ask: the exception as an event, status ERROR with a message,
 * and `error.type`, a short low-cardinality name of what went wrong.
 */
export function recordFailure(span: Span | undefined, error: unknown, errorType: string): void {
  if (!span) return;
  const message = error instanceof Error ? error.message : String(error);
  span.recordException(error instanceof Error ? error : message);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  span.setAttribute('error.type', errorType);
}
