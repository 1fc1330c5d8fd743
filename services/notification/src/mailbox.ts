import { randomUUID } from 'node:crypto';
import type { DatabaseSync, SQLOutputValue, StatementSync } from 'node:sqlite';
import { openDataFile } from '@eshop/config';
import { noFault, type FaultSwitch } from '@eshop/faults';
import { HttpError } from '@eshop/http';
import type { SendEmailRequest, SentEmail } from './api';

export interface SendResult {
  email: SentEmail;
  /** True when this order's e-mail had already been sent, and so was not sent again. */
  duplicate: boolean;
}

/**
 * The simulated outbox, and the ledger of what it sent: at most one e-mail per order, in a SQLite file. Each e-mail
 * is committed before `send` returns, and so before `/sendEmail` answers: once kafka-consumer has its answer and
 * commits the event's offset, the e-mail survives a crash of either, and a redelivered event (from a consumer that
 * crashed before its commit) finds it and gets it back instead of a second one.
 */
export class Mailbox {
  private readonly db: DatabaseSync;
  private readonly byOrder: StatementSync;
  private readonly insert: StatementSync;
  private readonly newest: StatementSync;

  constructor(
    path: string,
    private readonly failures: FaultSwitch = noFault('email-fails'),
  ) {
    this.db = openDataFile(
      path,
      `CREATE TABLE IF NOT EXISTS emails (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        order_id TEXT NOT NULL UNIQUE,
        email_id TEXT NOT NULL,
        trace_id TEXT NOT NULL,
        recipient TEXT NOT NULL,
        subject TEXT NOT NULL,
        sent_at TEXT NOT NULL
      )`,
    );
    this.byOrder = this.db.prepare('SELECT * FROM emails WHERE order_id = ?');
    this.newest = this.db.prepare('SELECT * FROM emails ORDER BY seq DESC LIMIT ?');
    this.insert = this.db.prepare(
      'INSERT INTO emails (order_id, email_id, trace_id, recipient, subject, sent_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
  }

  send({ orderId, to, subject }: SendEmailRequest, traceId: string): SendResult {
    // One process, and node:sqlite is synchronous: nothing runs between this read and the insert below.
    const existing = this.byOrder.get(orderId);
    if (existing) return { email: toEmail(existing), duplicate: true };
    if (this.failures.strikes()) {
      // A 503: the mail server is the one failing, and the caller may try again.
      throw new HttpError(503, 'E-mail not sent', {
        detail: 'the mail server did not take the e-mail (injected by the email-fails fault)',
        headers: { 'Retry-After': '1' },
        errorType: 'email_send_failed',
      });
    }
    const email: SentEmail = { emailId: randomUUID(), orderId, traceId, to, subject, sentAt: new Date().toISOString() };
    this.insert.run(orderId, email.emailId, traceId, to, subject, email.sentAt);
    return { email, duplicate: false };
  }

  /** The newest first. */
  list(limit: number, orderId?: string): SentEmail[] {
    const rows = orderId === undefined ? this.newest.all(limit) : this.byOrder.all(orderId);
    return rows.map(toEmail);
  }

  close(): void {
    this.db.close();
  }
}

function toEmail(row: Record<string, SQLOutputValue>): SentEmail {
  return {
    emailId: String(row.email_id),
    orderId: String(row.order_id),
    traceId: String(row.trace_id),
    to: String(row.recipient),
    subject: String(row.subject),
    sentAt: String(row.sent_at),
  };
}
