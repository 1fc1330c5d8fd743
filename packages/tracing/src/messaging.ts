import { context, type Attributes, type Span } from '@opentelemetry/api';

/**
 * The messaging hand-off between the tracing bootstrap and whoever runs a kafkajs client: a value in the context
 * that the client's `send` or `run` is called in. The kafka package puts it there; the kafkajs instrumentation's
 * hooks, set up in ./sdk.ts, find it there. Without the bootstrap (OTEL_SDK_DISABLED) the value is simply unread.
 */
export interface MessagingContext {
  /**
   * Added to every producer and consumer span the instrumentation starts there. The instrumentation does not know
   * the client id, the consumer group or the broker's address; the client's owner does.
   */
  attributes: Attributes;
  /**
   * Filled by the consumer hook with each consumed message's own CONSUMER span. In `eachBatch` the instrumentation
   * runs the whole batch handler inside the batch's `poll` span and starts one `process` span per message that
   * nothing else can see; with this map, the handler runs each message's work inside that message's span instead.
   */
  messageSpans?: WeakMap<object, Span>;
}

// Known by its name, not by identity: should a deployment end up with two copies of this module, both agree.
const MESSAGING_CONTEXT = Symbol.for('eshop.tracing.messaging');

/** Runs `work` with `value` in its context, the trace context of the caller kept. */
export function withMessagingContext<T>(value: MessagingContext, work: () => T): T {
  return context.with(context.active().setValue(MESSAGING_CONTEXT, value), work);
}

/** The messaging context `work` was given by `withMessagingContext`, where the instrumentation's hooks run. */
export function activeMessagingContext(): MessagingContext | undefined {
  return context.active().getValue(MESSAGING_CONTEXT) as MessagingContext | undefined;
}
