import { randomUUID } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import { context, propagation, trace } from '@opentelemetry/api';
import type { BillingClient } from '@eshop/billing/client';
import type { DeliveryClient } from '@eshop/delivery/client';
import { HttpError, UpstreamError, type UpstreamFailure } from '@eshop/http';
import type { InventoryClient } from '@eshop/inventory/client';
import { logger } from '@eshop/logger';
import { ORDER_ID_KEY, type OrderPlaced } from '@eshop/events';
import type { Order, PlacedOrder } from './api';
import { IdempotencyKeys } from './idempotency';
import { CheckoutJournal, type UndoRetry } from './journal';

/** On a failed checkout's span: which step failed and how, e.g. `billing_refused`, `delivery_timeout`. */
export const FAILURE_ATTRIBUTE = 'eshop.checkout.failure';

/** How long a caller is asked to wait before it tries a checkout again after a 503. */
const RETRY_AFTER_SECONDS = '5';
/** The failures after which the callee surely did nothing, so there is nothing to undo (see createJsonClient). */
const NOTHING_DONE: UpstreamFailure[] = ['refused', 'unreachable'];

export interface CheckoutDependencies {
  inventory: Pick<InventoryClient, 'createOrder' | 'releaseOrder'>;
  billing: Pick<BillingClient, 'charge' | 'refund'>;
  delivery: Pick<DeliveryClient, 'arrangeDelivery' | 'cancelDelivery'>;
  /** Stores an accepted order's event durably, to be sent to Kafka (see `OrderOutbox`). */
  outbox: { add(event: OrderPlaced): void };
  /** The order page's record of the orders accepted (see `OrderRecords`). */
  orders: { add(event: OrderPlaced, traceId: string): void };
  /** eshop's SQLite file, which the outbox and the order records share: one transaction places an order. */
  db: DatabaseSync;
  /** How long an Idempotency-Key is remembered. */
  idempotencyRetentionMs: number;
  /** The backoff of an undo that failed. */
  undoRetry: UndoRetry;
}

/**
 * A checkout: reserve the stock, charge the total, arrange the delivery, then store `OrderPlaced` in the outbox,
 * which sends it to Kafka. Each step is written down before it is called (see `CheckoutJournal`); when a step
 * fails, the steps before it are undone, newest first, each in a `compensate <service>` span, and an undo that
 * fails is tried again until it succeeds. With an `Idempotency-Key`, a checkout is placed once per key (see
 * `IdempotencyKeys`).
 */
export class Checkout {
  private readonly journal: CheckoutJournal;
  private readonly keys: IdempotencyKeys;

  constructor(private readonly services: CheckoutDependencies) {
    const { inventory, billing, delivery, db } = services;
    this.journal = new CheckoutJournal(
      db,
      {
        inventory: (orderId) => inventory.releaseOrder(orderId),
        billing: (orderId) => billing.refund(orderId),
        delivery: (orderId) => delivery.cancelDelivery(orderId),
      },
      services.undoRetry,
    );
    this.keys = new IdempotencyKeys(db, services.idempotencyRetentionMs);
  }

  /**
   * At start: undoes the checkouts an earlier run left unfinished, and frees their keys. Returns how many there
   * were.
   */
  recover(): number {
    return this.journal.recover(() => this.keys.releaseUnanswered());
  }

  /** Stops retrying undos (an undo in flight finishes); what is left is undone at the next start. */
  close(): Promise<void> {
    return this.journal.close();
  }

  /** Places `order`; with `idempotencyKey`, once for that key. */
  place(order: Order, idempotencyKey?: string): Promise<PlacedOrder> {
    if (idempotencyKey === undefined) return this.run(order);
    return this.keys.once(idempotencyKey, order, () => this.run(order, idempotencyKey));
  }

  private async run(order: Order, key?: string): Promise<PlacedOrder> {
    const orderId = randomUUID();
    const span = trace.getActiveSpan();
    span?.setAttribute(ORDER_ID_KEY, orderId);
    // In baggage, the order id travels with every call and the Kafka message, and lands on their spans.
    const baggage = (propagation.getActiveBaggage() ?? propagation.createBaggage()).setEntry(ORDER_ID_KEY, {
      value: orderId,
    });
    return context.with(propagation.setBaggage(context.active(), baggage), async (): Promise<PlacedOrder> => {
      const { inventory, billing, delivery, outbox, orders } = this.services;
      const { journal, keys } = this;
      try {
        // Written down before each call: once sent, a call may have done its work, answer or not.
        journal.begin(orderId, 'inventory', () => {
          if (key) keys.claim(key, order);
        });
        const reservation = await inventory.createOrder({ orderId, items: order.items });
        journal.step(orderId, 'billing');
        const payment = await billing.charge({ orderId, amount: reservation.total, currency: reservation.currency });
        journal.step(orderId, 'delivery');
        const shipment = await delivery.arrangeDelivery({ orderId, items: order.items });
        const event: OrderPlaced = {
          type: 'OrderPlaced',
          orderId,
          email: order.email,
          items: order.items,
          total: reservation.total,
          currency: reservation.currency,
          placedAt: new Date().toISOString(),
        };
        const placed: PlacedOrder = {
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
        // One commit: the event, the order's record, its answer for the key, and the end of its journal row.
        journal.placed(orderId, () => {
          outbox.add(event);
          orders.add(event, placed.traceId);
          if (key) keys.placed(key, placed);
        });
        return placed;
      } catch (error) {
        // Thrown, it marks the checkout's span ERROR with its `error.type` (see createServiceApp). The http
        // instrumentation replaces `error.type` by the status code on a 5xx, so the reason is kept apart too.
        const failure = asCheckoutError(error);
        span?.setAttribute(FAILURE_ATTRIBUTE, failure.errorType ?? 'checkout_failed');
        logger.warn(
          { orderId, error_type: failure.errorType, status: failure.status },
          `checkout failed: ${failure.message}`,
        );
        // The step that failed did nothing when it was refused or never reached its service; any other failure
        // (a timeout, a 5xx, a connection broken mid-way) may have done the work all the same.
        const nothingDone = error instanceof UpstreamError && NOTHING_DONE.includes(error.failure);
        await journal.undo(orderId, failure.errorType ?? 'checkout_failed', nothingDone, () => {
          if (key) keys.failed(key, failure);
        });
        throw failure;
      }
    });
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
