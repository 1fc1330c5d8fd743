import { randomUUID } from 'node:crypto';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import type { BillingClient } from '@eshop/billing/client';
import type { DeliveryClient } from '@eshop/delivery/client';
import { HttpError, recordFailure, UpstreamError, type UpstreamFailure } from '@eshop/http';
import type { InventoryClient } from '@eshop/inventory/client';
import { logger } from '@eshop/logger';
import { ORDER_ID_KEY, type OrderPlaced } from '@eshop/events';
import type { Order, PlacedOrder } from './api';

/** On a failed checkout's span: which step failed and how, e.g. `billing_refused`, `delivery_timeout`. */
export const FAILURE_ATTRIBUTE = 'eshop.checkout.failure';

/** How long a caller is asked to wait before it tries a checkout again after a 503. */
const RETRY_AFTER_SECONDS = '5';
/** The failures after which the callee surely did nothing, so there is nothing to undo. */
const NOTHING_DONE: UpstreamFailure[] = ['refused', 'unreachable'];

export interface CheckoutDependencies {
  inventory: Pick<InventoryClient, 'createOrder' | 'releaseOrder'>;
  billing: Pick<BillingClient, 'charge' | 'refund'>;
  delivery: Pick<DeliveryClient, 'arrangeDelivery' | 'cancelDelivery'>;
  /** Stores an accepted order's event durably, to be sent to Kafka (see `OrderOutbox`). */
  outbox: { add(event: OrderPlaced): void };
}

type Step = 'inventory' | 'billing' | 'delivery';

interface Undo {
  step: Step;
  run: () => Promise<unknown>;
}

const tracer = trace.getTracer('eshop');

/**
 * A checkout: reserve the stock, charge the total, arrange the delivery, then store `OrderPlaced` in the outbox,
 * which sends it to Kafka. When a step fails, the steps before it are undone, newest first, each in a
 * `compensate <service>` span.
 */
export class Checkout {
  constructor(private readonly services: CheckoutDependencies) {}

  async place(order: Order): Promise<PlacedOrder> {
    const orderId = randomUUID();
    const span = trace.getActiveSpan();
    span?.setAttribute(ORDER_ID_KEY, orderId);
    // In baggage, the order id travels with every call and the Kafka message, and lands on their spans.
    const baggage = (propagation.getActiveBaggage() ?? propagation.createBaggage()).setEntry(ORDER_ID_KEY, {
      value: orderId,
    });
    return context.with(propagation.setBaggage(context.active(), baggage), async (): Promise<PlacedOrder> => {
      const { inventory, billing, delivery, outbox } = this.services;
      const undo: Undo[] = [];
      try {
        const reservation = await step(
          undo,
          'inventory',
          () => inventory.createOrder({ orderId, items: order.items }),
          () => inventory.releaseOrder(orderId),
        );
        const payment = await step(
          undo,
          'billing',
          () => billing.charge({ orderId, amount: reservation.total, currency: reservation.currency }),
          () => billing.refund(orderId),
        );
        const shipment = await step(
          undo,
          'delivery',
          () => delivery.arrangeDelivery({ orderId, items: order.items }),
          () => delivery.cancelDelivery(orderId),
        );
        outbox.add({
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
        // Thrown, it marks the checkout's span ERROR with its `error.type` (see createServiceApp). The http
        // instrumentation replaces `error.type` by the status code on a 5xx, so the reason is kept apart too.
        const failure = asCheckoutError(error);
        span?.setAttribute(FAILURE_ATTRIBUTE, failure.errorType ?? 'checkout_failed');
        logger.warn(
          { orderId, error_type: failure.errorType, status: failure.status },
          `checkout failed: ${failure.message}`,
        );
        await compensate(undo.reverse(), orderId, failure.errorType ?? 'checkout_failed');
        throw failure;
      }
    });
  }
}

/**
 * Runs one step, and notes how to undo it: once it succeeded, and also when it failed without a definite
 * answer (a timeout, a 5xx, a connection broken mid-way), since the callee may have done the work all the same.
 */
async function step<T>(
  undo: Undo[],
  name: Step,
  run: () => Promise<T>,
  compensation: () => Promise<unknown>,
): Promise<T> {
  try {
    const result = await run();
    undo.push({ step: name, run: compensation });
    return result;
  } catch (error) {
    if (!(error instanceof UpstreamError && NOTHING_DONE.includes(error.failure)))
      undo.push({ step: name, run: compensation });
    throw error;
  }
}

/** Undoes the steps in the order given, each in its own span; one that fails does not stop the others. */
async function compensate(undo: Undo[], orderId: string, reason: string): Promise<void> {
  for (const { step: name, run } of undo) {
    await tracer.startActiveSpan(
      `compensate ${name}`,
      { kind: SpanKind.INTERNAL, attributes: { [ORDER_ID_KEY]: orderId, 'eshop.compensation.reason': reason } },
      async (span) => {
        try {
          await run();
        } catch (error) {
          // The order's stock or charge stays taken: say so loudly, it needs a person.
          recordFailure(span, error, 'compensation_failed');
          logger.error({ orderId, step: name, err: error }, `could not undo the ${name} step`);
        } finally {
          span.end();
        }
      },
    );
  }
}

/**
 * What the caller of a failed checkout is told: a refusal by a service (out of stock, unknown product, payment
 * declined) keeps its status and reasons; a service not answering is a 503 worth retrying.
 */
function asCheckoutError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof UpstreamError && error.failure === 'refused') {
    const problem = (error.body ?? {}) as { title?: string; detail?: string; errors?: HttpError['errors'] };
    return new HttpError(error.status, problem.title ?? 'Checkout refused', {
      detail: problem.detail ?? error.message,
      errors: problem.errors,
      errorType: `${error.service}_refused`,
    });
  }
  const retry = { 'Retry-After': RETRY_AFTER_SECONDS };
  if (error instanceof UpstreamError) {
    return new HttpError(503, 'Checkout unavailable', {
      detail: error.message,
      headers: retry,
      errorType: `${error.service}_${error.failure}`,
    });
  }
  const detail = error instanceof Error ? error.message : String(error);
  return new HttpError(503, 'Checkout unavailable', { detail, headers: retry, errorType: 'checkout_failed' });
}
