import { context, propagation, trace } from '@opentelemetry/api';
import { ORDER_ID_KEY, type OrderPlaced } from '@eshop/events';
import type { NotificationClient } from '@eshop/notification/client';

/**
 * Asks notification for the customer's confirmation e-mail of an `OrderPlaced` event; resolves once notification
 * confirmed it. Notification keeps one e-mail per order, so asking again for a redelivered event gets the first
 * e-mail back instead of a second one.
 */
export async function sendConfirmation(notification: NotificationClient, event: OrderPlaced): Promise<void> {
  trace.getActiveSpan()?.setAttribute(ORDER_ID_KEY, event.orderId);
  // In `parent` mode the baggage from the message already holds the order id. In `link` mode the handler runs in
  // a new trace without it: put it back, so the call to notification and its spans carry it too.
  const baggage = (propagation.getActiveBaggage() ?? propagation.createBaggage()).setEntry(ORDER_ID_KEY, {
    value: event.orderId,
  });
  await context.with(propagation.setBaggage(context.active(), baggage), () =>
    notification.sendEmail({
      orderId: event.orderId,
      to: event.email,
      subject: `Your order ${event.orderId} is confirmed`,
      body: `Thank you for your order of ${event.items.length} item(s), ${event.total.toFixed(2)} ${event.currency} in all.`,
    }),
  );
}
