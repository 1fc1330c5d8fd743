import { context, diag, type Attributes, type DiagLogger, type Span } from '@opentelemetry/api';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { GraphQLInstrumentation } from '@opentelemetry/instrumentation-graphql';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { IncomingMessage } from 'node:http';
import pino from 'pino';
import { readServiceTracing, readTracingConfig, type ServiceTracing } from './config';
import { createExportProcessor, readExportConfig } from './export';
import { createPropagator } from './propagation';
import { BaggageAttributesProcessor } from './processors';
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
      new BaggageAttributesProcessor(service.baggageAttributes),
      createExportProcessor(readExportConfig(env), config.batchDelayMs, (fields, message) => log.warn(fields, message)),
    ],
    instrumentations: [
      new HttpInstrumentation({
        // Probes every few seconds would bury the checkouts in Jaeger.
        ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.has(request.url?.split('?')[0] ?? ''),
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
      // ---- Messaging and GraphQL (issue 13) ----------------------------------------------------------------
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
      // ---- end of messaging and GraphQL ------------------------------------------------------------------------
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
 * The messaging contract with whoever runs a kafkajs client, through the context that the client's `run` or `send`
 * is called in, under a key known by its name (`Symbol.for`), so that neither side imports the other:
 *
 * - `attributes`: added to every producer and consumer span the instrumentation starts there. The instrumentation
 *   does not know the client id, the consumer group or the broker's address; the client's owner does.
 * - `messageSpans`: each consumed message's own CONSUMER span, by message. In `eachBatch` the instrumentation runs
 *   the whole batch handler inside the batch's `poll` span and starts one `process` span per message that nothing
 *   else can see; with this map, the handler runs each message's work inside that message's span instead.
 */
const MESSAGING_CONTEXT_KEY = Symbol.for('eshop.tracing.messaging');

interface MessagingContext {
  attributes?: Attributes;
  messageSpans?: WeakMap<object, Span>;
}

const messagingContext = () => context.active().getValue(MESSAGING_CONTEXT_KEY) as MessagingContext | undefined;

function addClientAttributes(span: Span): void {
  const attributes = messagingContext()?.attributes;
  if (attributes) span.setAttributes(attributes);
}

function handOverMessageSpan(message: object, span: Span): void {
  messagingContext()?.messageSpans?.set(message, span);
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
