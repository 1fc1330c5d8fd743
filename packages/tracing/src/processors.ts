import { propagation, type Context, type Span } from '@opentelemetry/api';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace';

/**
 * Copies the named baggage entries onto every span as it starts. Baggage travels in HTTP and Kafka headers,
 * so an `eshop.order.id` set once at checkout lands on every span downstream, producer and consumer
 * included, and Jaeger can find the whole trace by it. Only named keys: baggage comes from callers too.
 */
export class BaggageAttributesProcessor implements SpanProcessor {
  constructor(private readonly keys: readonly string[]) {}

  onStart(span: Span, parentContext: Context): void {
    const baggage = propagation.getBaggage(parentContext);
    for (const key of this.keys) {
      const value = baggage?.getEntry(key)?.value;
      if (value !== undefined) span.setAttribute(key, value);
    }
  }

  onEnd(_span: ReadableSpan): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
