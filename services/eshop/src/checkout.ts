import { randomUUID } from 'node:crypto';
import { context, propagation, trace } from '@opentelemetry/api';
import type { BillingClient } from '@eshop/billing/client';
import type { DeliveryClient } from '@eshop/delivery/client';
import { HttpError, UpstreamError } from '@eshop/http';
import type { InventoryClient } from '@eshop/inventory/client';
import type { Order, PlacedOrder } from './api';
import type { OrderPublisher } from './publisher';

export const ORDER_ID_ATTRIBUTE = 'eshop.order.id';

export interface CheckoutDependencies {
  inventory: InventoryClient;
  billing: BillingClient;
  delivery: DeliveryClient;
  publisher: OrderPublisher;
}

/** A checkout: reserve the stock, charge the total, arrange the delivery, then publish `OrderPlaced`. */
export class Checkout {
  constructor(private readonly services: CheckoutDependencies) {}

  async place(order: Order): Promise<PlacedOrder> {
    const orderId = randomUUID();
    const span = trace.getActiveSpan();
    span?.setAttribute(ORDER_ID_ATTRIBUTE, orderId);
    // In baggage, the order id travels with every call and the Kafka message, and lands on their spans.
    const baggage = (propagation.getActiveBaggage() ?? propagation.createBaggage()).setEntry(ORDER_ID_ATTRIBUTE, {
      value: orderId,
    });
    return context.with(propagation.setBaggage(context.active(), baggage), async (): Promise<PlacedOrder> => {
      const { inventory, billing, delivery, publisher } = this.services;
      try {
        const reservation = await inventory.createOrder({ orderId, items: order.items });
        const payment = await billing.charge({ orderId, amount: reservation.total, currency: reservation.currency });
        const shipment = await delivery.arrange({ orderId, items: order.items });
        await publisher.publish({
          type: 'OrderPlaced',
          orderId,
          email: order.email,
          items: order.items,
          total: reservation.total,
          currency: reservation.currency,
          placedAt: new Date().toISOString(),
        });
        return {
          orderId,
          traceId: span?.spanContext().traceId ?? '',
          status: 'placed',
          total: reservation.total,
          currency: reservation.currency,
          reservationId: reservation.reservationId,
          paymentId: payment.paymentId,
          deliveryId: shipment.deliveryId,
          estimatedDelivery: shipment.estimatedDelivery,
        };
      } catch (error) {
        throw asCheckoutError(error);
      }
    });
  }
}

/**
 * What the caller of a failed checkout is told: a refusal by a service (out of stock, unknown product, payment
 * declined) keeps its status and reasons; a service or the broker not answering is a 503 worth retrying.
 */
function asCheckoutError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof UpstreamError && error.status >= 400 && error.status < 500) {
    const problem = (error.body ?? {}) as { title?: string; detail?: string; errors?: HttpError['errors'] };
    return new HttpError(error.status, problem.title ?? 'Checkout refused', problem.detail ?? error.message, problem.errors);
  }
  const detail = error instanceof Error ? error.message : String(error);
  return new HttpError(503, 'Checkout unavailable', detail, undefined, { 'Retry-After': '5' });
}
