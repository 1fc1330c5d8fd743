import type { Attributes } from '@opentelemetry/api';

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
