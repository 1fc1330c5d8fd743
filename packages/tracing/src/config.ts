import { DiagLogLevel } from '@opentelemetry/api';

export interface TracingConfig {
  propagators: string[];
  batchDelayMs: number;
  diagLogLevel: DiagLogLevel;
}

const diagLevels: Record<string, DiagLogLevel> = {
  none: DiagLogLevel.NONE,
  error: DiagLogLevel.ERROR,
  warn: DiagLogLevel.WARN,
  info: DiagLogLevel.INFO,
  debug: DiagLogLevel.DEBUG,
  verbose: DiagLogLevel.VERBOSE,
  all: DiagLogLevel.ALL,
};

/**
 * The standard OTEL_* variables this bootstrap reads itself, with the defaults of the demo. The SDK reads the
 * rest (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_*, OTEL_TRACES_SAMPLER, ...).
 */
export function readTracingConfig(env: NodeJS.ProcessEnv): TracingConfig {
  const delay = Number(env.OTEL_BSP_SCHEDULE_DELAY ?? 1000);
  const level = (env.OTEL_LOG_LEVEL ?? 'warn').toLowerCase();
  return {
    // B3 first and W3C last: W3C wins when both arrive and disagree (see createPropagator).
    propagators: (env.OTEL_PROPAGATORS ?? 'b3multi,tracecontext,baggage')
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean),
    // Short, as in HotROD: a trace shows up in Jaeger while the reader is still looking for it.
    batchDelayMs: Number.isFinite(delay) && delay >= 0 ? delay : 1000,
    diagLogLevel: diagLevels[level] ?? DiagLogLevel.WARN,
  };
}
