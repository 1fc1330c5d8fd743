import { diag, type DiagLogger } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace';
import { DLQ_HEADERS, ORDER_ID_KEY, QUEUE_TIME_ATTRIBUTE } from '@eshop/events';
import { FAULT_REQUEST_KEY } from '@eshop/faults';
import { logger } from '@eshop/logger';
import { readTracingConfig } from './config';
import { createPropagator } from './propagation';
import { BaggageAttributesProcessor } from './processors';

const PROBE_PATHS = new Set(['/healthz', '/readyz']);

export function startTracing(env: NodeJS.ProcessEnv = process.env): NodeSDK {
  const config = readTracingConfig(env);
  const sdk = new NodeSDK({
    textMapPropagator: createPropagator(config.propagators),
    spanProcessors: [
      new BaggageAttributesProcessor([ORDER_ID_KEY, FAULT_REQUEST_KEY]),
      // The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT; its default, localhost:4317, is the native Jaeger.
      new BatchSpanProcessor({ exporter: new OTLPTraceExporter(), scheduledDelayMillis: config.batchDelayMs }),
    ],
    instrumentations: [
      new HttpInstrumentation({
        // Probes every few seconds would bury the checkouts in Jaeger.
        ignoreIncomingRequestHook: (request) => PROBE_PATHS.has(request.url?.split('?')[0] ?? ''),
        // The request id on every server span, as Envoy records it on its own: one search finds both.
        headersToSpanAttributes: { server: { requestHeaders: ['x-request-id'] } },
      }),
      // Only route names: a span per express middleware would crowd out the spans between services.
      new ExpressInstrumentation({
        ignoreLayersType: [ExpressLayerType.MIDDLEWARE, ExpressLayerType.ROUTER, ExpressLayerType.REQUEST_HANDLER],
      }),
      new KafkaJsInstrumentation({
        // A dead letter's producer span says why, so the dead-lettering reads plainly in the message's trace.
        producerHook: (span, { message }) => {
          const reason = message.headers?.[DLQ_HEADERS.reason];
          if (reason !== undefined) span.setAttribute('eshop.dlq.reason', String(reason));
        },
        consumerHook: (span, { message }) => {
          if (message.timestamp) span.setAttribute(QUEUE_TIME_ATTRIBUTE, Date.now() - Number(message.timestamp));
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

const diagLog = logger.child({ component: 'opentelemetry' });
const diagToLogger: DiagLogger = {
  error: (message, ...args) => diagLog.error({ args }, message),
  warn: (message, ...args) => diagLog.warn({ args }, message),
  info: (message, ...args) => diagLog.info({ args }, message),
  debug: (message, ...args) => diagLog.debug({ args }, message),
  verbose: (message, ...args) => diagLog.trace({ args }, message),
};
