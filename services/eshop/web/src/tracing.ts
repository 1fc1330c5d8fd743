// The page's own spans, made with OpenTelemetry's browser SDK and exported through eshop (POST /v1/traces), which
// forwards them to the services' trace backend as the service `storefront`.
import { context, propagation, SpanKind, trace, type Span } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { DocumentLoadInstrumentation } from '@opentelemetry/instrumentation-document-load';
import { FetchInstrumentation } from '@opentelemetry/instrumentation-fetch';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, StackContextManager, TracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace';

/** Where eshop takes the page's spans (see services/eshop/src/browser-spans.ts). */
const EXPORT_PATH = '/v1/traces';
/** How long leaving for the order's page waits for the last spans to be sent. */
const FLUSH_TIMEOUT_MS = 2000;

interface UserAgentData {
  brands: { brand: string; version: string }[];
  mobile: boolean;
  platform: string;
}

/** The browser, in the semantic conventions' words; `navigator.userAgentData` only where the browser has it. */
function browserAttributes(): Record<string, string | string[] | boolean> {
  const agent = (navigator as Navigator & { userAgentData?: UserAgentData }).userAgentData;
  return {
    'user_agent.original': navigator.userAgent,
    'browser.language': navigator.language,
    ...(agent
      ? {
          'browser.brands': agent.brands.map(({ brand, version }) => `${brand} ${version}`),
          'browser.mobile': agent.mobile,
          'browser.platform': agent.platform,
        }
      : {}),
  };
}

/**
 * Counts the spans started and not ended yet. The fetch instrumentation ends a request's span a moment after its
 * answer (it waits for the browser's resource timing), so leaving the page right after an answer would lose it.
 */
class OpenSpans implements SpanProcessor {
  private open = 0;
  private waiting: (() => void)[] = [];

  onStart(): void {
    this.open++;
  }

  onEnd(): void {
    this.open--;
    if (this.open === 0) for (const resolve of this.waiting.splice(0)) resolve();
  }

  /** Resolves once every span started so far has ended. */
  allEnded(): Promise<void> {
    return this.open === 0 ? Promise.resolve() : new Promise((resolve) => this.waiting.push(resolve));
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const openSpans = new OpenSpans();
const provider = new TracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'storefront', ...browserAttributes() }),
  spanProcessors: [
    new BatchSpanProcessor({
      exporter: new OTLPTraceExporter({ url: new URL(EXPORT_PATH, window.location.origin).href }),
      // As the services do: a trace shows up while the reader is still looking for it.
      scheduledDelayMillis: 1000,
    }),
    openSpans,
  ],
});
trace.setGlobalTracerProvider(provider);
// The page's code is synchronous up to each fetch, so the stack is enough to carry a span to the fetch it starts.
context.setGlobalContextManager(new StackContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());

registerInstrumentations({
  instrumentations: [
    // A span per request, sent with its `traceparent`: a child of the active span, else the root of its own trace.
    new FetchInstrumentation({ ignoreNetworkEvents: true }),
    // The page's own load (documentLoad, documentFetch, a resourceFetch per script and stylesheet): a trace of its own.
    new DocumentLoadInstrumentation({ ignoreNetworkEvents: true }),
  ],
});

const tracer = trace.getTracer('storefront');

/**
 * Runs `work` in a new root span for what the shopper did (`click Place order`), so that the requests it starts are
 * its children. The span ends when `work`'s promise settles.
 */
export function traceInteraction<T>(name: string, target: string, work: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(
    name,
    { kind: SpanKind.INTERNAL, root: true, attributes: { 'eshop.ui.target': target } },
    (span) => work(span).finally(() => span.end()),
  );
}

/** Lets the page's spans end and sends them, before the page leaves; never waits longer than FLUSH_TIMEOUT_MS. */
export function flushSpans(): Promise<void> {
  const timeout = new Promise<void>((resolve) => setTimeout(resolve, FLUSH_TIMEOUT_MS));
  const sent = openSpans.allEnded().then(() => provider.forceFlush());
  return Promise.race([sent.catch(() => undefined), timeout]);
}

/** Milliseconds since the epoch, as precisely as the page's clock tells them, comparable across pages. */
export const now = () => performance.timeOrigin + performance.now();
