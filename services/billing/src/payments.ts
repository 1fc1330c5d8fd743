import { randomUUID } from 'node:crypto';
import type { Payment, PaymentRequest } from './api';

/** The ledger of charges, one per order: charging an order again returns its first charge. */
export class Payments {
  private readonly byOrder = new Map<string, Payment>();

  charge({ orderId, amount, currency }: PaymentRequest): Payment {
    const existing = this.byOrder.get(orderId);
    if (existing) return existing;
    const payment: Payment = { paymentId: randomUUID(), orderId, amount, currency, status: 'charged' };
    this.byOrder.set(orderId, payment);
    return payment;
  }
}
