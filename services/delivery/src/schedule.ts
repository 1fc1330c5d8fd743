import { randomUUID } from 'node:crypto';
import { noFault, type FaultSwitch } from '@eshop/faults';
import { HttpError } from '@eshop/http';
import { OrderLedger } from '@eshop/ledger';
import type { Cancellation, Delivery, DeliveryRequest } from './api';

const DAY_MS = 24 * 60 * 60 * 1000;

export type Dispatch =
  { ok: true; delivery: Delivery; repeated: boolean } | { ok: false; reason: 'not-arranged' | 'cancelled' };

/**
 * The delivery schedule, one delivery per order, in a SQLite file (`DELIVERY_DB`): arranging an order again returns
 * its first delivery, after a restart too, so an order's event consumed after a restart finds its delivery.
 */
export class Schedule {
  private readonly ledger: OrderLedger<Delivery>;

  constructor(
    path: string,
    private readonly slow: FaultSwitch = noFault('delivery-slow'),
    private readonly now: () => Date = () => new Date(),
  ) {
    this.ledger = new OrderLedger(path);
  }

  async arrangeDelivery({ orderId, items }: DeliveryRequest): Promise<Delivery> {
    // Before the work, as a slow dependency would be: a caller that gave up has cancelled by the time it is done.
    await this.slow.delay();
    const delivery = this.ledger.do(orderId, () => {
      // A day to pack, plus a day for every ten units.
      const units = items.reduce((sum, item) => sum + item.quantity, 0);
      const days = 1 + Math.ceil(units / 10);
      const estimatedDelivery = new Date(this.now().getTime() + days * DAY_MS).toISOString().slice(0, 10);
      return { deliveryId: randomUUID(), orderId, estimatedDelivery, status: 'scheduled' };
    });
    if (!delivery) {
      throw new HttpError(409, 'Delivery cancelled', {
        detail: 'this order was cancelled and cannot be delivered',
        errors: [{ field: 'orderId', reason: 'cancelled' }],
      });
    }
    return delivery;
  }

  /** An order's delivery, as it stands. */
  find(orderId: string): Delivery | undefined {
    return this.ledger.entry(orderId).record;
  }

  /**
   * Dispatches an order's delivery, once: dispatching it again (a replayed event) returns it as it was dispatched.
   * An order with no delivery, or a cancelled one, cannot be dispatched.
   */
  dispatch(orderId: string): Dispatch {
    const { record: delivery, undone } = this.ledger.entry(orderId);
    if (undone) return { ok: false, reason: 'cancelled' };
    if (!delivery) return { ok: false, reason: 'not-arranged' };
    if (delivery.status === 'dispatched') return { ok: true, delivery, repeated: true };
    const dispatched: Delivery = { ...delivery, status: 'dispatched', dispatchedAt: this.now().toISOString() };
    this.ledger.update(orderId, dispatched);
    return { ok: true, delivery: dispatched, repeated: false };
  }

  /** Cancels an order's delivery; an order not arranged yet never will be. */
  cancelDelivery(orderId: string): Cancellation {
    const delivery = this.ledger.undo(orderId, (arranged) => ({ ...arranged, status: 'cancelled' }));
    return { orderId, status: delivery ? 'cancelled' : 'nothing-arranged' };
  }

  close(): void {
    this.ledger.close();
  }
}
