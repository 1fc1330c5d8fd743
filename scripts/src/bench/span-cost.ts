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
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3';
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
import { createPropagator } from '@eshop/tracing/propagation';
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

/** One stage of a span's life: `run` does it `iterations` times. */
interface Stage {
  name: string;
  run: (iterations: number) => void;
}

export interface StageCost {
  stage: string;
  /** CPU time (user + system) per operation, in microseconds, over the repeats: median, lowest and highest. */
  cpuMicroseconds: { median: number; min: number; max: number };
}

/** A span processor that only copies one baggage entry onto each span as it starts: the bootstrap's hook. */
class BaggageHook implements SpanProcessor {
  onStart(span: Parameters<SpanProcessor['onStart']>[0], parent: Context): void {
    const value = propagation.getBaggage(parent)?.getEntry(BAGGAGE_KEY)?.value;
    if (value !== undefined) span.setAttribute(BAGGAGE_KEY, value);
  }
  onEnd(): void {}
  forceFlush = () => Promise.resolve();
  shutdown = () => Promise.resolve();
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
    if (this.spans.length < 2048) this.spans.push(span);
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
export function spanStages(): Stage[] {
  // As in the services: the SDK keeps the active context in AsyncLocalStorage.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager());
  const bare = tracerWith([]);
  const hooked = tracerWith([new BaggageHook()]);
  const batched = tracerWith([new BatchSpanProcessor({ exporter: new DiscardingExporter(), maxQueueSize: 16384 })]);
  const keeper = new Keeper();
  const kept = tracerWith([keeper]);
  const parent = trace.setSpan(
    propagation.setBaggage(ROOT_CONTEXT, propagation.createBaggage({ [BAGGAGE_KEY]: { value: 'ord-12345678' } })),
    bare.startSpan('parent'),
  );
  for (let i = 0; i < 512; i++) {
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
    {
      name: 'export: OTLP protobuf encoding, per span of a 512-span batch',
      run: (iterations) => {
        for (let i = 0; i < Math.ceil(iterations / 512); i++) ProtobufTraceSerializer.serializeRequest(keeper.spans);
      },
    },
  ];
}

/** CPU time of `run(iterations)`, per iteration, in microseconds. */
function cpuPerIteration(stage: Stage, iterations: number): number {
  const before = process.cpuUsage();
  stage.run(iterations);
  const { user, system } = process.cpuUsage(before);
  return (user + system) / iterations;
}

/**
 * Each stage's CPU time per span, `repeats` times over, after a warm-up that lets V8 optimise it. CPU time rather
 * than wall time: it is what tracing takes from a service, and it stays steady on a machine that others share.
 */
export function measureSpanCost(iterations: number, repeats: number): StageCost[] {
  return spanStages().map((stage) => {
    cpuPerIteration(stage, iterations);
    const samples = Array.from({ length: repeats }, () => cpuPerIteration(stage, iterations));
    return {
      stage: stage.name,
      cpuMicroseconds: {
        median: percentiles(samples).p50,
        min: Math.min(...samples),
        max: Math.max(...samples),
      },
    };
  });
}
