import {
  createContextKey,
  type Context,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
} from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3';

const REQUEST_ID_HEADER = 'x-request-id';
const REQUEST_ID_KEY = createContextKey('x-request-id');
// Envoy generates UUIDs; anything much longer or unprintable is not a request id worth forwarding.
const REQUEST_ID_PATTERN = /^[\x21-\x7e]{1,128}$/;

/**
 * Carries Envoy's `x-request-id` from every incoming request or message to every outgoing one. Istio
 * needs it to stitch its sidecar spans, and OpenTelemetry's own propagators do not know it.
 */
export class RequestIdPropagator implements TextMapPropagator {
  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    const requestId = context.getValue(REQUEST_ID_KEY);
    if (typeof requestId === 'string') setter.set(carrier, REQUEST_ID_HEADER, requestId);
  }

  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    const value = getter.get(carrier, REQUEST_ID_HEADER);
    const requestId = Array.isArray(value) ? value[0] : value;
    return requestId && REQUEST_ID_PATTERN.test(requestId) ? context.setValue(REQUEST_ID_KEY, requestId) : context;
  }

  fields(): string[] {
    return [REQUEST_ID_HEADER];
  }
}

const propagatorsByName: Record<string, () => TextMapPropagator> = {
  tracecontext: () => new W3CTraceContextPropagator(),
  baggage: () => new W3CBaggagePropagator(),
  b3: () => new B3Propagator({ injectEncoding: B3InjectEncoding.SINGLE_HEADER }),
  b3multi: () => new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER }),
};

/**
 * Builds the propagator named by `OTEL_PROPAGATORS`, plus the request-id propagator. Every one of them
 * injects; on extract, the last trace propagator in the list wins when incoming headers disagree, so put
 * last the format your mesh rewrites (W3C for Istio's OpenTelemetry provider, B3 for its Zipkin one).
 */
export function createPropagator(names: readonly string[]): TextMapPropagator {
  const unknown = names.filter((name) => !(name in propagatorsByName));
  if (unknown.length > 0) {
    throw new Error(
      `OTEL_PROPAGATORS: unknown propagator ${unknown.join(', ')}; use ${Object.keys(propagatorsByName).join(', ')}`,
    );
  }
  return new CompositePropagator({
    propagators: [...names.map((name) => propagatorsByName[name]()), new RequestIdPropagator()],
  });
}
