import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { OrderItem, OrderPlaced } from '@eshop/events';
import { transaction } from './store';

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
 * The order page's read model: a record of every order accepted, written in the same transaction as its event
 * in the outbox, and marked when Kafka has the event.
 */
export class OrderRecords {
  private readonly insert: StatementSync;
  private readonly markPublished: StatementSync;
  private readonly byOrder: StatementSync;

  constructor(private readonly db: DatabaseSync) {
    db.exec(`CREATE TABLE IF NOT EXISTS orders (
      order_id TEXT PRIMARY KEY,
      trace_id TEXT NOT NULL,
      items TEXT NOT NULL,
      total REAL NOT NULL,
      currency TEXT NOT NULL,
      placed_at TEXT NOT NULL,
      published_at TEXT
    )`);
    this.insert = db.prepare(
      'INSERT INTO orders (order_id, trace_id, items, total, currency, placed_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.markPublished = db.prepare('UPDATE orders SET published_at = ? WHERE order_id = ?');
    this.byOrder = db.prepare('SELECT * FROM orders WHERE order_id = ?');
  }

  /** Records an accepted order, placed in the checkout trace `traceId`. */
  add({ orderId, items, total, currency, placedAt }: OrderPlaced, traceId: string): void {
    this.insert.run(orderId, traceId, JSON.stringify(items), total, currency, placedAt);
  }

  /** Marks the orders whose events Kafka acknowledged at `at`. */
  published(orderIds: string[], at: string): void {
    transaction(this.db, () => {
      for (const orderId of orderIds) this.markPublished.run(at, orderId);
    });
  }

  /** The record of an accepted order, or undefined for an order id this eshop never took. */
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
}
