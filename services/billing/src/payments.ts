import { randomUUID } from 'node:crypto';
import { noFault, type FaultSwitch } from '@eshop/faults';
import { HttpError } from '@eshop/http';
import { OrderLedger } from '@eshop/ledger';
import type { Payment, PaymentRequest, Refund } from './api';

/**
 * The ledger of charges, one per order, in a SQLite file (`BILLING_DB`): charging an order again returns its first
 * charge, after a restart too, and an order refunded is never charged, even when its charge arrives after the
 * refund (a timed-out call).
 */
export class Payments {
  private readonly ledger: OrderLedger<Payment>;

  constructor(
    path: string,
    private readonly decline: FaultSwitch = noFault('payment-declined'),
  ) {
    this.ledger = new OrderLedger(path);
  }

  charge({ orderId, amount, currency }: PaymentRequest): Payment {
    const payment = this.ledger.do(orderId, () => {
      if (this.decline.strikes()) {
        throw new HttpError(402, 'Payment declined', {
          detail: 'the payment was declined (injected by the payment-declined fault)',
          errorType: 'payment_declined',
        });
      }
      return { paymentId: randomUUID(), orderId, amount, currency, status: 'charged' };
    });
    if (!payment) {
      throw new HttpError(409, 'Order refunded', {
        detail: 'this order was refunded and cannot be charged again',
        errors: [{ field: 'orderId', reason: 'refunded' }],
      });
    }
    return payment;
  }

  /** Refunds an order's charge, once however often it is asked; an order not charged yet never will be. */
  refund(orderId: string): Refund {
    const payment = this.ledger.undo(orderId, (charged) => ({ ...charged, status: 'refunded' }));
    return { orderId, status: payment ? 'refunded' : 'nothing-charged' };
  }

  find(orderId: string): Payment | undefined {
    return this.ledger.entry(orderId).record;
  }

  close(): void {
    this.ledger.close();
  }
}
