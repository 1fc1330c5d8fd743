import { diag, type DiagLogger } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace';
import { IncomingMessage } from 'node:http';
import pino from 'pino';
import { readServiceTracing, readTracingConfig, type ServiceTracing } from './config';
import { createPropagator } from './propagation';
import { BaggageAttributesProcessor } from './processors';
import { warnOfIgnoredTraceHeaders } from './trace-headers';

const PROBE_PATHS = new Set(['/healthz', '/readyz']);

/**
 * Starts the SDK with the demo's instrumentations, unless OTEL_SDK_DISABLED is true: then nothing at all, since an
 * instrumentation patches its module as soon as it is constructed, and an untraced run should pay for none of it.
 */
export function startTracing(
  env: NodeJS.ProcessEnv = process.env,
  service: ServiceTracing = readServiceTracing(),
): NodeSDK | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const config = readTracingConfig(env);
  const { queueTimeAttribute } = service;
  const sdk = new NodeSDK({
    textMapPropagator: createPropagator(config.propagators),
    spanProcessors: [
      new BaggageAttributesProcessor(service.baggageAttributes),
      // The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT; its default, localhost:4317, is the native Jaeger.
      new BatchSpanProcessor({ exporter: new OTLPTraceExporter(), scheduledDelayMillis: config.batchDelayMs }),
    ],
    instrumentations: [
      new HttpInstrumentation({
        // Probes every few seconds would bury the checkouts in Jaeger.
        ignoreIncomingRequestHook: (request) => PROBE_PATHS.has(request.url?.split('?')[0] ?? ''),
        // The request id on every server span, as Envoy records it on its own: one search finds both.
        headersToSpanAttributes: { server: { requestHeaders: ['x-request-id'] } },
        // The propagators drop a trace header they cannot use without a word: say so in the service's log.
        requestHook: (span, request) => {
          if (request instanceof IncomingMessage) warnOfIgnoredTraceHeaders(log, span, request);
        },
      }),
      // Only route names: a span per express middleware would crowd out the spans between services.
      new ExpressInstrumentation({
        ignoreLayersType: [ExpressLayerType.MIDDLEWARE, ExpressLayerType.ROUTER, ExpressLayerType.REQUEST_HANDLER],
      }),
      new KafkaJsInstrumentation({
        // Here rather than in the service: in `eachBatch`, only this hook sees each message's own CONSUMER span.
        consumerHook: (span, { message }) => {
          if (queueTimeAttribute && message.timestamp) {
            span.setAttribute(queueTimeAttribute, Date.now() - Number(message.timestamp));
          }
        },
      }),
    ],
    // Traces only: an OTLP metrics or logs exporter would fail, unseen, against a Jaeger that takes neither.
    metricReaders: [],
    logRecordProcessors: [],
  });
  // After the SDK, which installs a console logger of its own when OTEL_LOG_LEVEL is set.
  diag.setLogger(diagToLogger, config.diagLogLevel);
  sdk.start();
  return sdk;
}

// JSON lines in the services' log format (level, time, service, msg): the trace-header warnings at LOG_LEVEL, and
// the SDK's own diagnostics at the level OTEL_LOG_LEVEL sets for them.
const log = pino({
  level: process.env.LOG_LEVEL ?? 'info',
  base: { service: process.env.OTEL_SERVICE_NAME },
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { level: (label) => ({ level: label }) },
});
const diagLog = log.child({ component: 'opentelemetry' }, { level: 'trace' });
const diagToLogger: DiagLogger = {
  error: (message, ...args) => diagLog.error({ args }, message),
  warn: (message, ...args) => diagLog.warn({ args }, message),
  info: (message, ...args) => diagLog.info({ args }, message),
  debug: (message, ...args) => diagLog.debug({ args }, message),
  verbose: (message, ...args) => diagLog.trace({ args }, message),
};
