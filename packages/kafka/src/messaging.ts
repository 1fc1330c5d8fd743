import { context, type Attributes, type Span } from '@opentelemetry/api';

/**
 * The tracing bootstrap's messaging contract (see `MESSAGING_CONTEXT_KEY` in packages/tracing/src/sdk.ts): a value
 * in the context a kafkajs client's `send` or `run` is called in, found by this name by the instrumentation's hooks.
 * Neither package imports the other, and without the bootstrap (OTEL_SDK_DISABLED) the value is simply unread.
 */
const MESSAGING_CONTEXT_KEY = Symbol.for('eshop.tracing.messaging');

export interface MessagingContext {
  /** Added by the hooks to each producer and consumer span: what the instrumentation cannot know by itself. */
  attributes: Attributes;
  /** Filled by the consumer hook with each consumed message's own CONSUMER span. */
  messageSpans?: WeakMap<object, Span>;
}

/** Runs `work` with `value` in its context, the trace context of the caller kept. */
export function withMessagingContext<T>(value: MessagingContext, work: () => T): T {
  return context.with(context.active().setValue(MESSAGING_CONTEXT_KEY, value), work);
}

/**
 * The semantic conventions' client attributes (1.44): the client id, and the broker as `server.address` and
 * `server.port`. A client knows only its bootstrap brokers until it asks for metadata: the first one names it.
 */
export function clientAttributes(clientId: string, brokers: readonly string[]): Attributes {
  const [broker = ''] = brokers;
  const colon = broker.lastIndexOf(':');
  const attributes: Attributes = { 'messaging.client.id': clientId };
  if (colon < 0) return { ...attributes, 'server.address': broker };
  return { ...attributes, 'server.address': broker.slice(0, colon), 'server.port': Number(broker.slice(colon + 1)) };
}

/** Each client's attributes, which kafkajs does not expose once the client is made. */
const clients = new WeakMap<object, Attributes>();

export function setClientAttributes(kafka: object, attributes: Attributes): void {
  clients.set(kafka, attributes);
}

export function clientAttributesOf(kafka: object): Attributes {
  return clients.get(kafka) ?? {};
}
