import { trace } from '@opentelemetry/api';
import type { OrderPlaced } from '@eshop/events';
import type { NotificationClient } from '@eshop/notification/client';

/**
 * Turns an `OrderPlaced` event into the customer's confirmation e-mail. Notification keeps one e-mail per order,
 * so sending again for a redelivered event returns the first e-mail instead of a second one.
 */
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
