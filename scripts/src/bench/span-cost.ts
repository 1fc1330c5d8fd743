import {
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  type Context,
  type TextMapPropagator,
} from '@opentelemetry/api';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtobufTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BatchSpanProcessor,
  TracerProvider,
  type ReadableSpan,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import { readTracingConfig } from '@eshop/tracing/config';
import { baggageAttributes } from '@eshop/tracing/sdk';
import { createPropagator } from '@eshop/tracing/propagation';
import { inspectTraceHeaders } from '@eshop/tracing/trace-headers';
import { percentiles } from './stats';

/** What an HTTP server span of the demo carries, as the http instrumentation sets it (about a dozen attributes). */
const SERVER_ATTRIBUTES = {
  'http.request.method': 'POST',
  'url.scheme': 'http',
  'url.path': '/checkout',
  'http.route': '/checkout',
  'server.address': 'localhost',
  'server.port': 8080,
  'network.peer.address': '127.0.0.1',
  'network.peer.port': 51234,
  'network.protocol.version': '1.1',
  'user_agent.original': 'node',
  'http.response.status_code': 201,
  'http.request.header.x-request-id': ['2f1d7c9e-6b1a-4c7e-9d3f-0a1b2c3d4e5f'],
};
const BAGGAGE_KEY = 'eshop.order.id';
/** The SDK's default batch, and the bootstrap's (packages/tracing/src/export.ts). */
const SDK_BATCH = 512;
const LARGE_BATCH = 2048;

/** One stage of a span's life: `run` does it `iterations` times. */
interface Stage {
  name: string;
  run: (iterations: number) => void | Promise<void>;
}

/** Where the sink (./otlp-sink.ts) takes spans. */
interface SinkPorts {
  grpcPort: number;
  httpPort: number;
}

export interface StageCost {
  stage: string;
  /** CPU time (user + system) per operation, in microseconds, over the repeats: median, lowest and highest. */
  cpuMicroseconds: { median: number; min: number; max: number };
}

/** Takes every batch and throws it away: the processor's own queueing is measured, not a network. */
class DiscardingExporter implements SpanExporter {
  export(_spans: ReadableSpan[], done: (result: { code: ExportResultCode }) => void): void {
    done({ code: ExportResultCode.SUCCESS });
  }
  shutdown = () => Promise.resolve();
}

/** Ended spans, as an exporter gets them, kept for the serialization stage. */
class Keeper implements SpanProcessor {
  readonly spans: ReadableSpan[] = [];
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    if (this.spans.length < LARGE_BATCH) this.spans.push(span);
  }
  forceFlush = () => Promise.resolve();
  shutdown = () => Promise.resolve();
}

function tracerWith(spanProcessors: SpanProcessor[]) {
  return new TracerProvider({ spanProcessors }).getTracer('span-cost');
}

function injectStage(name: string, propagator: TextMapPropagator, parent: Context): Stage {
  return {
    name: `inject: ${name}`,
    run: (iterations) => {
      for (let i = 0; i < iterations; i++) propagator.inject(parent, {}, defaultTextMapSetter);
    },
  };
}

function extractStage(name: string, propagator: TextMapPropagator, parent: Context): Stage {
  const headers: Record<string, string> = {};
  propagator.inject(parent, headers, defaultTextMapSetter);
  return {
    name: `extract: ${name}`,
    run: (iterations) => {
      for (let i = 0; i < iterations; i++) propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
    },
  };
}

/**
 * Each stage of a span, alone: creating and ending it, its attributes, the span processors' hooks, carrying its
 * context on the wire in each format, and encoding it for export (the OTLP protobuf that both the gRPC and the
 * HTTP exporter send).
 */
export function spanStages(sink: SinkPorts): Stage[] {
  // As in the services: the SDK keeps the active context in AsyncLocalStorage.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager());
  const bare = tracerWith([]);
  const hooked = tracerWith([baggageAttributes([BAGGAGE_KEY])]);
  const batched = tracerWith([new BatchSpanProcessor({ exporter: new DiscardingExporter(), maxQueueSize: 16384 })]);
  const keeper = new Keeper();
  const kept = tracerWith([keeper]);
  const parent = trace.setSpan(
    propagation.setBaggage(ROOT_CONTEXT, propagation.createBaggage({ [BAGGAGE_KEY]: { value: 'ord-12345678' } })),
    bare.startSpan('parent'),
  );
  for (let i = 0; i < LARGE_BATCH; i++) {
    kept.startSpan('POST /checkout', { kind: SpanKind.SERVER, attributes: SERVER_ATTRIBUTES }, parent).end();
  }
  const defaults = readTracingConfig({}).propagators;
  const formats: [string, TextMapPropagator][] = [
    ['tracecontext', new W3CTraceContextPropagator()],
    ['b3multi', new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER })],
    ['baggage', new W3CBaggagePropagator()],
    [`the default (${defaults.join(',')})`, createPropagator(defaults)],
  ];
  return [
    {
      name: 'span: start and end',
      run: (iterations) => {
        for (let i = 0; i < iterations; i++) bare.startSpan('span', undefined, parent).end();
      },
    },
    {
      name: 'span: start and end, with a server span\u2019s attributes',
      run: (iterations) => {
        for (let i = 0; i < iterations; i++) {
          bare.startSpan('span', { kind: SpanKind.SERVER, attributes: SERVER_ATTRIBUTES }, parent).end();
        }
      },
    },
    {
      name: 'span: start and end, with the baggage hook',
      run: (iterations) => {
        for (let i = 0; i < iterations; i++) hooked.startSpan('span', undefined, parent).end();
      },
    },
    {
      name: 'span: start and end, into the batch processor',
      run: (iterations) => {
        for (let i = 0; i < iterations; i++) batched.startSpan('span', undefined, parent).end();
      },
    },
    {
      name: 'span: made active around a call (context.with)',
      run: (iterations) => {
        for (let i = 0; i < iterations; i++) context.with(parent, () => undefined);
      },
    },
    ...formats.map(([name, propagator]) => injectStage(name, propagator, parent)),
    ...formats.map(([name, propagator]) => extractStage(name, propagator, parent)),
    ...headerCheckStages(createPropagator(defaults), parent),
    {
      name: `export: OTLP protobuf encoding, in batches of ${SDK_BATCH}`,
      run: (iterations) => {
        const batch = keeper.spans.slice(0, SDK_BATCH);
        for (let i = 0; i < Math.ceil(iterations / SDK_BATCH); i++) ProtobufTraceSerializer.serializeRequest(batch);
      },
    },
    ...[SDK_BATCH, LARGE_BATCH].flatMap((size) => [
      exportStage(
        `OTLP/gRPC, batches of ${size}`,
        new GrpcTraceExporter({ url: `http://127.0.0.1:${sink.grpcPort}` }),
        keeper.spans.slice(0, size),
      ),
      exportStage(
        `OTLP/HTTP, batches of ${size}`,
        new ProtobufTraceExporter({ url: `http://127.0.0.1:${sink.httpPort}/v1/traces` }),
        keeper.spans.slice(0, size),
      ),
    ]),
  ];
}

/**
 * The bootstrap's check of an incoming request's trace headers (packages/tracing/src/trace-headers.ts), on the
 * headers one service sends another: each format extracted again, or, given the server span's parent, each that
 * names it exactly taken as it stands.
 */
function headerCheckStages(propagator: TextMapPropagator, parent: Context): Stage[] {
  const headers: Record<string, string> = {};
  propagator.inject(parent, headers, defaultTextMapSetter);
  const parentSpan = trace.getSpanContext(parent)!;
  const check = (name: string, known?: typeof parentSpan): Stage => ({
    name: `incoming request: trace headers checked, ${name}`,
    run: (iterations) => {
      for (let i = 0; i < iterations; i++) inspectTraceHeaders(headers, parentSpan.traceId, propagator, known);
    },
  });
  return [check('each format extracted again'), check("the parent's taken as they stand", parentSpan)];
}

/** Encoding and sending, batch after batch, to a receiver in another process whose CPU time is not counted. */
function exportStage(name: string, exporter: SpanExporter, batch: ReadableSpan[]): Stage {
  const send = () =>
    new Promise<void>((resolve, reject) =>
      exporter.export(batch, ({ code, error }) =>
        code === ExportResultCode.SUCCESS ? resolve() : reject(error ?? new Error(`export: ${name}`)),
      ),
    );
  return {
    name: `export: ${name}`,
    run: async (iterations) => {
      for (let i = 0; i < Math.ceil(iterations / batch.length); i++) await send();
    },
  };
}

/** CPU time of `run(iterations)`, per iteration, in microseconds. */
async function cpuPerIteration(stage: Stage, iterations: number): Promise<number> {
  const before = process.cpuUsage();
  await stage.run(iterations);
  const { user, system } = process.cpuUsage(before);
  return (user + system) / iterations;
}

/**
 * Each stage's CPU time per span, `repeats` times over, after a warm-up that lets V8 optimise it. CPU time rather
 * than wall time: it is what tracing takes from a service, and it stays steady on a machine that others share.
 */
export async function measureSpanCost(iterations: number, repeats: number): Promise<StageCost[]> {
  const sink = fork(join(__dirname, 'otlp-sink.js'), { stdio: 'inherit' });
  try {
    const [ports] = (await once(sink, 'message')) as [SinkPorts];
    const costs: StageCost[] = [];
    for (const stage of spanStages(ports)) {
      await cpuPerIteration(stage, iterations);
      const samples: number[] = [];
      for (let i = 0; i < repeats; i++) samples.push(await cpuPerIteration(stage, iterations));
      costs.push({
        stage: stage.name,
        cpuMicroseconds: { median: percentiles(samples).p50, min: Math.min(...samples), max: Math.max(...samples) },
      });
    }
    return costs;
  } finally {
    sink.disconnect();
  }
}
