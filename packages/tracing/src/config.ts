import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
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

/**
 * What a service asks of the tracing bootstrap, in the `tracing` field of its own package.json: the contract
 * that keeps this package free of any one project's names.
 */
export interface ServiceTracing {
  /** Baggage entries copied onto every span as it starts, so that a trace can be found by them from any service. */
  baggageAttributes: string[];
  /** The attribute that gets, on each Kafka CONSUMER span, how long its message waited in the topic (ms). */
  queueTimeAttribute?: string;
}

/**
 * Reads the `tracing` field of the package.json nearest to the main script (`node … dist/src/main.js`), or of
 * `start`. A field that is absent asks for nothing; one that is malformed is an error, named at start-up.
 */
export function readServiceTracing(start = resolve(process.argv[1] ?? '.')): ServiceTracing {
  for (let dir = dirname(start); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      return parseServiceTracing(JSON.parse(readFileSync(manifest, 'utf8')) as { tracing?: unknown }, manifest);
    }
    if (dirname(dir) === dir) return { baggageAttributes: [] };
  }
}

export function parseServiceTracing(manifest: { tracing?: unknown }, where = 'package.json'): ServiceTracing {
  const { baggageAttributes = [], queueTimeAttribute } = (manifest.tracing ?? {}) as Record<string, unknown>;
  const isName = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
  if (!Array.isArray(baggageAttributes) || !baggageAttributes.every(isName)) {
    throw new Error(`${where}: tracing.baggageAttributes must be a list of baggage keys`);
  }
  if (queueTimeAttribute !== undefined && !isName(queueTimeAttribute)) {
    throw new Error(`${where}: tracing.queueTimeAttribute must be an attribute name`);
  }
  return { baggageAttributes, ...(queueTimeAttribute ? { queueTimeAttribute } : {}) };
}
