import { randomUUID } from 'node:crypto';
import { noFault, type FaultSwitch } from '@eshop/faults';
import { HttpError } from '@eshop/http';
import type { Payment, PaymentRequest, Refund } from './api';

/** The ledger of charges, one per order: charging an order again returns its first charge. */
export class Payments {
  private readonly byOrder = new Map<string, Payment>();
  /** Orders refunded, including those refunded before their charge arrived (a timed-out call). */
  private readonly refunded = new Set<string>();

  constructor(private readonly decline: FaultSwitch = noFault('payment-declined')) {}

  charge({ orderId, amount, currency }: PaymentRequest): Payment {
    if (this.refunded.has(orderId)) {
      throw new HttpError(409, 'Order refunded', {
        detail: 'this order was refunded and cannot be charged again',
        errors: [{ field: 'orderId', reason: 'refunded' }],
      });
    }
    const existing = this.byOrder.get(orderId);
    if (existing) return existing;
    if (this.decline.strikes()) {
      throw new HttpError(402, 'Payment declined', {
        detail: 'the payment was declined (injected by the payment-declined fault)',
        errorType: 'payment_declined',
      });
    }
    const payment: Payment = { paymentId: randomUUID(), orderId, amount, currency, status: 'charged' };
    this.byOrder.set(orderId, payment);
    return payment;
  }

  /** Refunds an order's charge, once however often it is asked; an order not charged yet never will be. */
  refund(orderId: string): Refund {
    const payment = this.byOrder.get(orderId);
    if (payment) payment.status = 'refunded';
    this.refunded.add(orderId);
    return { orderId, status: payment ? 'refunded' : 'nothing-charged' };
  }

  find(orderId: string): Payment | undefined {
    return this.byOrder.get(orderId);
  }
}
