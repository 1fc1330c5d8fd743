import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { setTimeout as delay } from 'node:timers/promises';
import { context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import { ORDERS_TOPIC, type OrderPlaced } from '@eshop/events';
import { logger } from '@eshop/logger';
import type { Producer } from 'kafkajs';
import { transaction } from './store';

/** How many stored events one round sends at once. */
const BATCH = 200;
/** The wait after a round in which the broker took nothing, doubling up to the maximum. */
const RETRY = { firstMs: 250, maxMs: 5000 };

interface Row {
  seq: number;
  orderId: string;
  event: string;
  /** The checkout's trace context, as the propagators write it: `traceparent`, baggage, B3, `x-request-id`. */
  carrier: Record<string, string>;
}

/**
 * The transactional outbox: a checkout succeeds once its `OrderPlaced` is committed here, in a SQLite file, and
 * this sends it to Kafka, at once or, if the broker is away, as soon as it is back.
 *
 * Without it, a checkout would have to wait for the broker's acknowledgement, and a lost acknowledgement (the
 * broker stored the event, then went away before it answered) would leave an order undone and answered 503
 * while its event was in the topic, and e-mailed. An event is removed from here only once the broker has
 * acknowledged it, so nothing stored is lost; a crash between the two sends it again, and notification answers
 * the repeat with the e-mail it already sent.
 *
 * Each event keeps the trace context of its checkout, and is sent inside it: the kafkajs instrumentation's
 * PRODUCER span is a child of the checkout's span, and the message carries the checkout's baggage, however late
 * it is sent.
 *
 * It only sends: what else is known of an order (its record for the order page, its checkout's steps) lives in
 * the same SQLite file, written in the same transaction as its event by the checkout.
 */
export class OrderOutbox {
  private readonly insert: StatementSync;
  private readonly oldest: StatementSync;
  private readonly remove: StatementSync;
  private readonly count: StatementSync;
  private readonly stopping = new AbortController();
  private started = false;
  private sending?: Promise<void>;
  private addedWhileSending = false;

  /**
   * `db` is eshop's SQLite file (openDataFile: each commit is on disk before it returns, and so before the
   * checkout answers 201); `onPublished` is told, in the transaction that forgets them, which orders' events
   * the broker acknowledged. Nothing is sent before `start`.
   */
  constructor(
    private readonly db: DatabaseSync,
    private readonly producer: Producer,
    private readonly onPublished: (orderIds: string[], at: string) => void = () => {},
  ) {
    db.exec(`CREATE TABLE IF NOT EXISTS outbox (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      order_id TEXT NOT NULL,
      event TEXT NOT NULL,
      carrier TEXT NOT NULL
    )`);
    this.insert = this.db.prepare('INSERT INTO outbox (order_id, event, carrier) VALUES (?, ?, ?)');
    this.oldest = this.db.prepare('SELECT seq, order_id, event, carrier FROM outbox ORDER BY seq LIMIT ?');
    this.remove = this.db.prepare('DELETE FROM outbox WHERE seq = ?');
    this.count = this.db.prepare('SELECT count(*) AS count FROM outbox');
  }

  /**
   * Stores the event with the active trace context, then has it sent. Once this returns, the event is safe; in
   * a transaction of the caller's, once that commits. It is sent on the next turn of the event loop, so never
   * before that commit.
   */
  add(event: OrderPlaced): void {
    const carrier: Record<string, string> = {};
    propagation.inject(context.active(), carrier);
    transaction(this.db, () => this.insert.run(event.orderId, JSON.stringify(event), JSON.stringify(carrier)));
    setImmediate(() => this.send());
  }

  /** Sends what an earlier run left, and from now on whatever is added: once the broker can be reached. */
  start(): void {
    this.started = true;
    this.send();
  }

  /** How many events wait for the broker. */
  get pending(): number {
    return Number(this.count.get()?.count);
  }

  /** Sends whatever is stored: after each `add`, and at start for what an earlier run left. */
  private send(): void {
    if (!this.started || this.stopping.signal.aborted) return;
    if (this.sending) {
      this.addedWhileSending = true;
      return;
    }
    this.sending = this.sendAll()
      .catch((error: unknown) => logger.error({ err: error }, 'the outbox stopped sending'))
      .finally(() => {
        this.sending = undefined;
        if (this.addedWhileSending && !this.stopping.signal.aborted) {
          this.addedWhileSending = false;
          this.send();
        }
      });
  }

  /** Lets the round in flight finish; what is left is sent at the next start. */
  async close(): Promise<void> {
    this.stopping.abort();
    await this.sending;
  }

  private async sendAll(): Promise<void> {
    let waitMs = RETRY.firstMs;
    while (!this.stopping.signal.aborted) {
      const rows = this.oldest.all(BATCH).map((row) => ({
        seq: Number(row.seq),
        orderId: String(row.order_id),
        event: String(row.event),
        carrier: JSON.parse(String(row.carrier)) as Record<string, string>,
      }));
      if (rows.length === 0) return;
      const results = await Promise.allSettled(rows.map((row) => this.publish(row)));
      this.forget(rows.filter((_row, i) => results[i].status === 'fulfilled'));
      const failures = results.filter((result) => result.status === 'rejected');
      if (failures.length === 0) {
        waitMs = RETRY.firstMs;
        continue;
      }
      logger.warn(
        { waiting: failures.length, retryInMs: waitMs, err: failures[0].reason },
        'Kafka did not acknowledge OrderPlaced; the outbox keeps it and tries again',
      );
      await delay(waitMs, undefined, { signal: this.stopping.signal }).catch(() => {});
      waitMs = Math.min(waitMs * 2, RETRY.maxMs);
    }
  }

  /** Sends one event, keyed by order id, in its checkout's context, acknowledged by every in-sync replica. */
  private async publish(row: Row): Promise<void> {
    await context.with(propagation.extract(ROOT_CONTEXT, row.carrier), () =>
      this.producer.send({ topic: ORDERS_TOPIC, acks: -1, messages: [{ key: row.orderId, value: row.event }] }),
    );
  }

  /** Removes the events the broker acknowledged, in one transaction: one write to disk per round, not per event. */
  private forget(rows: Row[]): void {
    if (rows.length === 0) return;
    transaction(this.db, () => {
      for (const row of rows) this.remove.run(row.seq);
      this.onPublished(
        rows.map((row) => row.orderId),
        new Date().toISOString(),
      );
    });
  }
}
