import { randomUUID } from 'node:crypto';
import type { Delivery, DeliveryRequest } from './api';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The delivery schedule, one delivery per order: arranging an order again returns its first delivery. */
export class Schedule {
  private readonly byOrder = new Map<string, Delivery>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  arrange({ orderId, items }: DeliveryRequest): Delivery {
    const existing = this.byOrder.get(orderId);
    if (existing) return existing;
    // A day to pack, plus a day for every ten units.
    const units = items.reduce((sum, item) => sum + item.quantity, 0);
    const days = 1 + Math.ceil(units / 10);
    const estimatedDelivery = new Date(this.now().getTime() + days * DAY_MS).toISOString().slice(0, 10);
    const delivery = { deliveryId: randomUUID(), orderId, estimatedDelivery };
    this.byOrder.set(orderId, delivery);
    return delivery;
  }
}
