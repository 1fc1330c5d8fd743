import { z } from 'zod';

/** The topic checkouts are published to, keyed by order id. */
export const ORDERS_TOPIC = 'orders';
/** Where messages that kafka-consumer can never process go, with headers saying why. */
export const ORDERS_DEAD_LETTER_TOPIC = 'orders.DLQ';
/** Where messages that delivery's group can never process go: each group has its own, to replay only its own. */
export const DELIVERY_DEAD_LETTER_TOPIC = 'orders.delivery.DLQ';

/** The order id as a span attribute and as the baggage entry that carries it to every span downstream. */
export const ORDER_ID_KEY = 'eshop.order.id';

/**
 * On a consumer span: how long its message waited in Kafka, from the producer's timestamp to processing. The
 * tracing bootstrap sets it because kafka-consumer's package.json names it (`tracing.queueTimeAttribute`).
 */
export const QUEUE_TIME_ATTRIBUTE = 'eshop.kafka.queue_time_ms';

/** What a consumer adds to a dead letter: why, where it came from, and how often it was tried. */
export const DLQ_HEADERS = {
  reason: 'x-dlq-reason',
  error: 'x-dlq-error',
  topic: 'x-dlq-topic',
  partition: 'x-dlq-partition',
  offset: 'x-dlq-offset',
  attempts: 'x-dlq-attempts',
  /** Prefix of the original trace headers, which the producer instrumentation overwrites on the dead letter. */
  original: 'x-dlq-original-',
} as const;

/** An order id as the services pass it to each other (eshop makes UUIDs; the bound keeps keys and logs sane). */
export const orderIdSchema = z.string().min(1).max(64);

export const orderItemSchema = z.object({
  sku: z.string().min(1).max(64),
  quantity: z.number().int().positive().max(1000),
});

/** Published once the inventory, billing and delivery steps of a checkout have all succeeded. */
export const orderPlacedSchema = z.object({
  type: z.literal('OrderPlaced'),
  orderId: orderIdSchema,
  email: z.email(),
  items: z.array(orderItemSchema).min(1),
  total: z.number().nonnegative(),
  currency: z.string().length(3),
  placedAt: z.iso.datetime(),
});

export type OrderItem = z.infer<typeof orderItemSchema>;
export type OrderPlaced = z.infer<typeof orderPlacedSchema>;

/** Why a message is not an `OrderPlaced` event. */
export type UnreadableReason = 'not-json' | 'invalid-event';

export type ParsedOrderPlaced =
  { ok: true; event: OrderPlaced } | { ok: false; reason: UnreadableReason; error: Error };

/** Reads an `OrderPlaced` event from a Kafka message's value; what it cannot read, it says why without the values. */
export function parseOrderPlaced(value: Buffer | null): ParsedOrderPlaced {
  let json: unknown;
  try {
    json = JSON.parse(value?.toString('utf8') ?? '');
  } catch {
    return { ok: false, reason: 'not-json', error: new Error('the message is not JSON') };
  }
  const event = orderPlacedSchema.safeParse(json);
  if (!event.success) {
    // Field names only: the values may be personal data.
    const fields = event.error.issues.map((issue) => issue.path.join('.') || '(message)');
    const error = new Error(`the message is not an OrderPlaced event (${[...new Set(fields)].join(', ')})`);
    return { ok: false, reason: 'invalid-event', error };
  }
  return { ok: true, event: event.data };
}
