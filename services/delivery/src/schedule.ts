import { randomUUID } from 'node:crypto';
import { noFault, type FaultSwitch } from '@eshop/faults';
import { HttpError } from '@eshop/http';
import type { Cancellation, Delivery, DeliveryRequest } from './api';

const DAY_MS = 24 * 60 * 60 * 1000;

export type Dispatch =
  { ok: true; delivery: Delivery; repeated: boolean } | { ok: false; reason: 'not-arranged' | 'cancelled' };

/** The delivery schedule, one delivery per order: arranging an order again returns its first delivery. */
export class Schedule {
  private readonly byOrder = new Map<string, Delivery>();
  /** Orders cancelled, including those cancelled before their delivery was arranged (a timed-out call). */
  private readonly cancelled = new Set<string>();

  constructor(
    private readonly slow: FaultSwitch = noFault('delivery-slow'),
    private readonly now: () => Date = () => new Date(),
  ) {}

  async arrangeDelivery({ orderId, items }: DeliveryRequest): Promise<Delivery> {
    // Before the work, as a slow dependency would be: a caller that gave up has cancelled by the time it is done.
    await this.slow.delay();
    if (this.cancelled.has(orderId)) {
      throw new HttpError(409, 'Delivery cancelled', {
        detail: 'this order was cancelled and cannot be delivered',
        errors: [{ field: 'orderId', reason: 'cancelled' }],
      });
    }
    const existing = this.byOrder.get(orderId);
    if (existing) return existing;
    // A day to pack, plus a day for every ten units.
    const units = items.reduce((sum, item) => sum + item.quantity, 0);
    const days = 1 + Math.ceil(units / 10);
    const estimatedDelivery = new Date(this.now().getTime() + days * DAY_MS).toISOString().slice(0, 10);
    const delivery: Delivery = { deliveryId: randomUUID(), orderId, estimatedDelivery, status: 'scheduled' };
    this.byOrder.set(orderId, delivery);
    return delivery;
  }

  /** An order's delivery, as it stands. */
  find(orderId: string): Delivery | undefined {
    return this.byOrder.get(orderId);
  }

  /**
   * Dispatches an order's delivery, once: dispatching it again (a replayed event) returns it as it was dispatched.
   * An order with no delivery, or a cancelled one, cannot be dispatched.
   */
  dispatch(orderId: string): Dispatch {
    const delivery = this.byOrder.get(orderId);
    if (this.cancelled.has(orderId)) return { ok: false, reason: 'cancelled' };
    if (!delivery) return { ok: false, reason: 'not-arranged' };
    if (delivery.status === 'dispatched') return { ok: true, delivery, repeated: true };
    delivery.status = 'dispatched';
    delivery.dispatchedAt = this.now().toISOString();
    return { ok: true, delivery, repeated: false };
  }

  /** Cancels an order's delivery; an order not arranged yet never will be. */
  cancelDelivery(orderId: string): Cancellation {
    const arranged = this.byOrder.has(orderId);
    this.cancelled.add(orderId);
    return { orderId, status: arranged ? 'cancelled' : 'nothing-arranged' };
  }
}
