import { trace } from '@opentelemetry/api';
import { orderPlacedSchema, type OrderPlaced } from '@eshop/events';
import type { NotificationClient } from '@eshop/notification/client';

/** A message that can never be processed, however often it is retried. */
export class PoisonMessageError extends Error {
  override readonly name = 'PoisonMessageError';
}

export function parseOrderPlaced(value: Buffer | null): OrderPlaced {
  let json: unknown;
  try {
    json = JSON.parse(value?.toString('utf8') ?? '');
  } catch {
    throw new PoisonMessageError('the message is not JSON');
  }
  const event = orderPlacedSchema.safeParse(json);
  if (!event.success) {
    const fields = event.error.issues.map((issue) => issue.path.join('.') || '(message)');
    throw new PoisonMessageError(`the message is not an OrderPlaced event (${[...new Set(fields)].join(', ')})`);
  }
  return event.data;
}

/** Turns an `OrderPlaced` event into the customer's confirmation e-mail. */
export function createEmailer(notification: NotificationClient) {
  return async (event: OrderPlaced): Promise<void> => {
    trace.getActiveSpan()?.setAttribute('eshop.order.id', event.orderId);
    await notification.sendEmail({
      orderId: event.orderId,
      to: event.email,
      subject: `Your order ${event.orderId} is confirmed`,
      body: `Thank you for your order of ${event.items.length} item(s), ${event.total.toFixed(2)} ${event.currency} in all.`,
    });
  };
}
