import { randomUUID } from 'node:crypto';
import { noFault, type FaultSwitch } from '@eshop/faults';
import { HttpError } from '@eshop/http';
import type { SendEmailRequest, SentEmail } from './api';

export interface SendResult {
  email: SentEmail;
  /** True when this order's e-mail had already been sent, and so was not sent again. */
  duplicate: boolean;
}

/**
 * The simulated outbox: it records what was sent, at most one e-mail per order, and keeps the newest
 * `capacity` of them.
 */
export class Mailbox {
  // A Map iterates in insertion order, so the first key is always the oldest e-mail.
  private readonly byOrder = new Map<string, SentEmail>();

  constructor(
    private readonly capacity: number,
    private readonly failures: FaultSwitch = noFault('email-fails'),
  ) {}

  send({ orderId, to, subject }: SendEmailRequest, traceId: string): SendResult {
    const existing = this.byOrder.get(orderId);
    if (existing) return { email: existing, duplicate: true };
    if (this.failures.strikes()) {
      // A 503: the mail server is the one failing, and the caller may try again.
      throw new HttpError(
        503,
        'E-mail not sent',
        'the mail server did not take the e-mail (injected by the email-fails fault)',
        undefined,
        { 'Retry-After': '1' },
        'email_send_failed',
      );
    }
    const email: SentEmail = { emailId: randomUUID(), orderId, traceId, to, subject, sentAt: new Date().toISOString() };
    this.byOrder.set(orderId, email);
    if (this.byOrder.size > this.capacity) this.byOrder.delete(this.byOrder.keys().next().value!);
    return { email, duplicate: false };
  }

  /** The newest first. */
  list(limit: number, orderId?: string): SentEmail[] {
    if (orderId !== undefined) {
      const email = this.byOrder.get(orderId);
      return email ? [email] : [];
    }
    return [...this.byOrder.values()].reverse().slice(0, limit);
  }
}
