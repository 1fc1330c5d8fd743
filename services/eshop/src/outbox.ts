import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { setTimeout as delay } from 'node:timers/promises';
import { context, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { openDataFile } from '@eshop/config';
import { ORDERS_TOPIC, type OrderItem, type OrderPlaced } from '@eshop/events';
import { logger } from '@eshop/logger';
import type { Producer } from 'kafkajs';

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

/** What eshop remembers of an order it accepted, for the order page: no e-mail address, that is personal data. */
export interface OrderRecord {
  orderId: string;
  /** The checkout's trace. */
  traceId: string;
  items: OrderItem[];
  total: number;
  currency: string;
  placedAt: string;
  /** When every in-sync replica of `orders` had the event; undefined while it waits in the outbox. */
  publishedAt?: string;
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
 * Beside the events, the same file keeps a record of every order accepted, written in the same transaction as
 * its event and marked when Kafka has the event: what the order page's API tells about the order's first steps.
 */
export class OrderOutbox {
  private readonly db: DatabaseSync;
  private readonly insert: StatementSync;
  private readonly oldest: StatementSync;
  private readonly remove: StatementSync;
  private readonly count: StatementSync;
  private readonly record: StatementSync;
  private readonly published: StatementSync;
  private readonly byOrder: StatementSync;
  private readonly stopping = new AbortController();
  private sending?: Promise<void>;
  private addedWhileSending = false;

  constructor(
    path: string,
    private readonly producer: Producer,
  ) {
    // A commit is on disk before `add` returns, and so before the checkout answers 201.
    this.db = openDataFile(
      path,
      `CREATE TABLE IF NOT EXISTS outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        order_id TEXT NOT NULL,
        event TEXT NOT NULL,
        carrier TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS orders (
        order_id TEXT PRIMARY KEY,
        trace_id TEXT NOT NULL,
        items TEXT NOT NULL,
        total REAL NOT NULL,
        currency TEXT NOT NULL,
        placed_at TEXT NOT NULL,
        published_at TEXT
      )`,
    );
    this.insert = this.db.prepare('INSERT INTO outbox (order_id, event, carrier) VALUES (?, ?, ?)');
    this.oldest = this.db.prepare('SELECT seq, order_id, event, carrier FROM outbox ORDER BY seq LIMIT ?');
    this.remove = this.db.prepare('DELETE FROM outbox WHERE seq = ?');
    this.count = this.db.prepare('SELECT count(*) AS count FROM outbox');
    this.record = this.db.prepare(
      'INSERT INTO orders (order_id, trace_id, items, total, currency, placed_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.published = this.db.prepare('UPDATE orders SET published_at = ? WHERE order_id = ?');
    this.byOrder = this.db.prepare('SELECT * FROM orders WHERE order_id = ?');
  }

  /** Stores the event with the active trace context, then has it sent. Once this returns, the event is safe. */
  add(event: OrderPlaced): void {
    const carrier: Record<string, string> = {};
    propagation.inject(context.active(), carrier);
    const traceId = trace.getSpanContext(context.active())?.traceId ?? '';
    this.transaction(() => {
      this.insert.run(event.orderId, JSON.stringify(event), JSON.stringify(carrier));
      const { orderId, items, total, currency, placedAt } = event;
      this.record.run(orderId, traceId, JSON.stringify(items), total, currency, placedAt);
    });
    this.send();
  }

  /** The record of an accepted order, or undefined for an order id this outbox never took. */
  order(orderId: string): OrderRecord | undefined {
    const row = this.byOrder.get(orderId);
    if (!row) return undefined;
    return {
      orderId: String(row.order_id),
      traceId: String(row.trace_id),
      items: JSON.parse(String(row.items)) as OrderItem[],
      total: Number(row.total),
      currency: String(row.currency),
      placedAt: String(row.placed_at),
      ...(row.published_at === null ? {} : { publishedAt: String(row.published_at) }),
    };
  }

  /** How many events wait for the broker. */
  get pending(): number {
    return Number(this.count.get()?.count);
  }

  /** Sends whatever is stored: after each `add`, and at start for what an earlier run left. */
  send(): void {
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

  /** Lets the round in flight finish, then closes the file; what is left is sent at the next start. */
  async close(): Promise<void> {
    this.stopping.abort();
    await this.sending;
    this.db.close();
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

  /**
   * Removes the events the broker acknowledged and marks their orders published, in one transaction: one write
   * to disk per round, not per event.
   */
  private forget(rows: Row[]): void {
    if (rows.length === 0) return;
    const now = new Date().toISOString();
    this.transaction(() => {
      for (const row of rows) {
        this.remove.run(row.seq);
        this.published.run(now, row.orderId);
      }
    });
  }

  private transaction(write: () => void): void {
    this.db.exec('BEGIN');
    try {
      write();
      this.db.exec('COMMIT');
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
  }
}
