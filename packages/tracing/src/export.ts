import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtobufTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace';

export type ExportProtocol = 'grpc' | 'http/protobuf';

export interface ExportConfig {
  protocol: ExportProtocol;
  maxQueueSize: number;
  maxExportBatchSize: number;
  timeoutMs: number;
}

/**
 * The SDK's defaults (2048 spans, batches of 512, 10 s) are made for a service that exports far less than it can.
 * On a saturated machine, where the backend is starved of CPU for seconds at a time, they drop spans. The queue
 * here holds thirteen seconds of eshop's spans at 250 checkouts/s (five a checkout). A batch of 2048 server spans is
 * about 1 MB of protobuf, a quarter of Jaeger's 4 MiB gRPC message limit, and costs a quarter less CPU per span
 * to send than batches of 512 (`pnpm bench:spans`). An export is given up after 30 s rather than 10, so that a
 * stalled backend's spans wait in the queue rather than being dropped with the export under way.
 */
const DEFAULTS = { maxQueueSize: 16384, maxExportBatchSize: 2048, timeoutMs: 30_000 };

const protocols: Record<ExportProtocol, (timeoutMillis: number) => SpanExporter> = {
  // Each reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT; their defaults, localhost:4317 and :4318, are the native Jaeger.
  grpc: (timeoutMillis) => new GrpcTraceExporter({ timeoutMillis }),
  'http/protobuf': (timeoutMillis) => new ProtobufTraceExporter({ timeoutMillis }),
};

/**
 * The standard variables of the span export: OTEL_EXPORTER_OTLP_TRACES_PROTOCOL (or OTEL_EXPORTER_OTLP_PROTOCOL),
 * gRPC unless told, OTEL_EXPORTER_OTLP_TRACES_TIMEOUT (or OTEL_EXPORTER_OTLP_TIMEOUT), and the batch processor's
 * OTEL_BSP_MAX_QUEUE_SIZE and OTEL_BSP_MAX_EXPORT_BATCH_SIZE.
 */
export function readExportConfig(env: NodeJS.ProcessEnv): ExportConfig {
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'grpc').trim();
  if (!(protocol in protocols)) {
    throw new Error(`OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: unknown protocol ${protocol}; use grpc or http/protobuf`);
  }
  const count = (name: string, fallback: number) => {
    const value = Number(env[name] ?? fallback);
    return Number.isInteger(value) && value > 0 ? value : fallback;
  };
  const timeout = env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT
    ? 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT'
    : 'OTEL_EXPORTER_OTLP_TIMEOUT';
  const maxQueueSize = count('OTEL_BSP_MAX_QUEUE_SIZE', DEFAULTS.maxQueueSize);
  return {
    protocol: protocol as ExportProtocol,
    maxQueueSize,
    maxExportBatchSize: Math.min(maxQueueSize, count('OTEL_BSP_MAX_EXPORT_BATCH_SIZE', DEFAULTS.maxExportBatchSize)),
    timeoutMs: count(timeout, DEFAULTS.timeoutMs),
  };
}

/**
 * What the bootstrap tells the process about its span export, on `globalThis` under a key known by its name
 * (`Symbol.for`), so that a service's health answer can show it without importing anything of OpenTelemetry.
 * Without the bootstrap (OTEL_SDK_DISABLED) there is no such value.
 */
export const EXPORT_STATUS_KEY = Symbol.for('eshop.tracing.export');

export interface ExportStatus {
  /** Spans dropped since the start: the queue was full, or the backend did not take them. */
  droppedSpans: number;
}

/** How often the dropped spans are counted, and logged if there are new ones. */
const REPORT_INTERVAL_MS = 2000;

/**
 * The batch span processor over the exporter the protocol names, with every span it drops counted. The count is
 * the SDK's own `otel.sdk.processor.span.processed` metric (each span once, with an `error.type` if it was not
 * exported), read from a meter provider of this processor's own, never exported.
 */
export function createExportProcessor(
  config: ExportConfig,
  scheduledDelayMillis: number,
  warn: (fields: object, message: string) => void,
): SpanProcessor {
  const reader = new OnDemandReader();
  const status: ExportStatus = { droppedSpans: 0 };
  (globalThis as Record<symbol, unknown>)[EXPORT_STATUS_KEY] = status;
  const processor = new BatchSpanProcessor({
    exporter: protocols[config.protocol](config.timeoutMs),
    maxQueueSize: config.maxQueueSize,
    maxExportBatchSize: config.maxExportBatchSize,
    // The processor's own deadline for an export, a little after the exporter's, which then reports the failure.
    exportTimeoutMillis: config.timeoutMs + 1000,
    scheduledDelayMillis,
    selfObsMeterProvider: new MeterProvider({ readers: [reader] }),
  });

  const report = async () => {
    const dropped = await droppedSpans(reader);
    const total = Object.values(dropped).reduce((sum, count) => sum + count, 0);
    if (total === status.droppedSpans) return;
    warn(
      { dropped_spans: total - status.droppedSpans, dropped_spans_total: total, reasons: dropped },
      'spans dropped: the trace backend is down or slower than the spans come',
    );
    status.droppedSpans = total;
  };
  setInterval(() => void report(), REPORT_INTERVAL_MS).unref();
  return processor;
}

/** The spans a processor did not export, by `error.type` (`queue_full`, or the export's error). */
async function droppedSpans(reader: MetricReader): Promise<Record<string, number>> {
  const { resourceMetrics } = await reader.collect();
  const dropped: Record<string, number> = {};
  for (const { metrics } of resourceMetrics.scopeMetrics) {
    for (const metric of metrics) {
      if (metric.descriptor.name !== 'otel.sdk.processor.span.processed') continue;
      for (const { attributes, value } of metric.dataPoints) {
        const reason = attributes['error.type'];
        if (typeof reason === 'string' && typeof value === 'number') dropped[reason] = (dropped[reason] ?? 0) + value;
      }
    }
  }
  return dropped;
}

/** A metric reader that only reads when asked. */
class OnDemandReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }

  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}
