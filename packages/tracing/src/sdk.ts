import { diag, type DiagLogger, type Span } from '@opentelemetry/api';
import { BaggageSpanProcessor } from '@opentelemetry/baggage-span-processor';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { GraphQLInstrumentation } from '@opentelemetry/instrumentation-graphql';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { IncomingMessage } from 'node:http';
import { logger } from '@eshop/logger';
import { readServiceTracing, readTracingConfig, type ServiceTracing } from './config';
import { createExportProcessor, readExportConfig } from './export';
import { activeMessagingContext } from './messaging';
import { createPropagator } from './propagation';
import { warnOfIgnoredTraceHeaders } from './trace-headers';

/** Probes, and the storefront's span exports through eshop (a span for exporting spans would feed on itself). */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/v1/traces']);

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
      baggageAttributes(service.baggageAttributes),
      createExportProcessor(readExportConfig(env), config.batchDelayMs, (fields, message) =>
        logger.warn(fields, message),
      ),
    ],
    instrumentations: [
      new HttpInstrumentation({
        // Probes every few seconds would bury the checkouts in Jaeger.
        ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.has(request.url?.split('?')[0] ?? ''),
        // The request id on every server span, as Envoy records it on its own: one search finds both.
        headersToSpanAttributes: { server: { requestHeaders: ['x-request-id'] } },
        // The propagators drop a trace header they cannot use without a word: say so in the service's log.
        requestHook: (span, request) => {
          if (request instanceof IncomingMessage) warnOfIgnoredTraceHeaders(logger, span, request);
        },
      }),
      // Only route names: a span per express middleware would crowd out the spans between services.
      new ExpressInstrumentation({
        ignoreLayersType: [ExpressLayerType.MIDDLEWARE, ExpressLayerType.ROUTER, ExpressLayerType.REQUEST_HANDLER],
      }),
      new KafkaJsInstrumentation({
        producerHook: (span) => addClientAttributes(span),
        // Here rather than in the service: in `eachBatch`, only this hook sees each message's own CONSUMER span.
        consumerHook: (span, { message }) => {
          addClientAttributes(span);
          if (queueTimeAttribute && message.timestamp) {
            span.setAttribute(queueTimeAttribute, Date.now() - Number(message.timestamp));
          }
          handOverMessageSpan(message, span);
        },
      }),
      // parse, validate and execute spans under the HTTP server span; a resolve span only for resolvers the schema
      // defines (not for each property read), list items merged, and no literal value of a query on any span.
      new GraphQLInstrumentation({ ignoreTrivialResolveSpans: true, mergeItems: true, allowValues: false }),
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

/**
 * Copies the named baggage entries onto every span as it starts. Baggage travels in HTTP and Kafka headers, so an
 * `eshop.order.id` set once at checkout lands on every span downstream, producer and consumer included, and Jaeger
 * can find the whole trace by it. Only named keys: baggage comes from callers too.
 */
export function baggageAttributes(keys: readonly string[]): BaggageSpanProcessor {
  return new BaggageSpanProcessor((key) => keys.includes(key));
}

function addClientAttributes(span: Span): void {
  const attributes = activeMessagingContext()?.attributes;
  if (attributes) span.setAttributes(attributes);
}

function handOverMessageSpan(message: object, span: Span): void {
  activeMessagingContext()?.messageSpans?.set(message, span);
}

// The SDK's own diagnostics, in the services' JSON log, at the level OTEL_LOG_LEVEL sets for them.
const diagLog = logger.child({ component: 'opentelemetry' }, { level: 'trace' });
const diagToLogger: DiagLogger = {
  error: (message, ...args) => diagLog.error({ args }, message),
  warn: (message, ...args) => diagLog.warn({ args }, message),
  info: (message, ...args) => diagLog.info({ args }, message),
  debug: (message, ...args) => diagLog.debug({ args }, message),
  verbose: (message, ...args) => diagLog.trace({ args }, message),
};
