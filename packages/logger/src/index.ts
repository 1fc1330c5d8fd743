import { trace } from '@opentelemetry/api';
import pino from 'pino';

/**
 * The one JSON logger of every service. Each line carries the `trace_id` and `span_id` of the span that is
 * active where it was written, so a log line leads straight to its trace in Jaeger.
 */
export const logger = pino({
  level: process.env.LOG_LEVEL ?? 'info',
  base: { service: process.env.OTEL_SERVICE_NAME },
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { level: (label) => ({ level: label }) },
  mixin() {
    const spanContext = trace.getActiveSpan()?.spanContext();
    return spanContext ? { trace_id: spanContext.traceId, span_id: spanContext.spanId } : {};
  },
});

export type Logger = typeof logger;
