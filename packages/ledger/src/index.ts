import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { openDataFile } from '@eshop/config';

/** An order's entry: its record, if anything was done for it, and whether it was undone. */
export interface LedgerEntry<T> {
  record: T | undefined;
  undone: boolean;
}

/**
 * What a service that takes part in a checkout keeps: one record per order (a reservation, a charge, a delivery)
 * and the orders undone, in a SQLite file (see `openDataFile`). Each step of an order is one transaction,
 * committed before the method returns, and so before the service answers: what it answered survives a crash, and
 * nothing is kept in memory, however many orders there are.
 *
 * The rules every step follows, so that a caller may repeat any call:
 * - doing an order again returns its first record;
 * - undoing it is idempotent, and also marks an order for which nothing was done yet (the call that would do it
 *   timed out, and may still arrive): once undone, an order is never done.
 */
export class OrderLedger<T> {
  /** The file's database, for the service's own tables beside the ledger (inventory's stock). */
  readonly db: DatabaseSync;
  private readonly select: StatementSync;
  private readonly insert: StatementSync;
  private readonly write: StatementSync;
  private readonly markUndone: StatementSync;

  /** `schema`: the service's own tables, created with the ledger's. */
  constructor(path: string, schema = '') {
    this.db = openDataFile(
      path,
      `CREATE TABLE IF NOT EXISTS ledger (
        order_id TEXT PRIMARY KEY,
        -- The order's record as JSON; NULL for an order undone before anything was done for it.
        record TEXT,
        undone INTEGER NOT NULL DEFAULT 0
      ) WITHOUT ROWID;
      ${schema}`,
    );
    this.select = this.db.prepare('SELECT record, undone FROM ledger WHERE order_id = ?');
    this.insert = this.db.prepare('INSERT INTO ledger (order_id, record) VALUES (?, ?)');
    this.write = this.db.prepare('UPDATE ledger SET record = ? WHERE order_id = ?');
    this.markUndone = this.db.prepare(
      'INSERT INTO ledger (order_id, record, undone) VALUES (?, ?, 1) ' +
        'ON CONFLICT (order_id) DO UPDATE SET record = excluded.record, undone = 1',
    );
  }

  entry(orderId: string): LedgerEntry<T> {
    const row = this.select.get(orderId);
    return {
      record: typeof row?.record === 'string' ? (JSON.parse(row.record) as T) : undefined,
      undone: row?.undone === 1,
    };
  }

  /**
   * Does an order's step once: the first call stores what `make` returns; a repeat returns that first record
   * without calling `make`; once the order is undone, `make` is never called and this returns undefined. `make`
   * runs in the transaction that stores its record, so whatever else it writes to `db` is committed with the
   * record, or not at all if it throws.
   */
  do(orderId: string, make: () => T): T | undefined {
    return this.transaction(() => {
      const { record, undone } = this.entry(orderId);
      if (undone) return undefined;
      if (record !== undefined) return record;
      const made = make();
      this.insert.run(orderId, JSON.stringify(made));
      return made;
    });
  }

  /** Stores an order's record as it now stands (a delivery dispatched); an order with no record is left alone. */
  update(orderId: string, record: T): void {
    this.write.run(JSON.stringify(record), orderId);
  }

  /**
   * Undoes an order, once however often it is asked: the first time, `change` undoes its record's effects (in
   * the same transaction) and returns the record as it then stands. Returns the order's record, or undefined if
   * nothing had been done for it, which nothing will be from now on.
   */
  undo(orderId: string, change: (record: T) => T = (record) => record): T | undefined {
    return this.transaction(() => {
      const { record, undone } = this.entry(orderId);
      const after = record !== undefined && !undone ? change(record) : record;
      this.markUndone.run(orderId, after === undefined ? null : JSON.stringify(after));
      return after;
    });
  }

  close(): void {
    this.db.close();
  }

  private transaction<R>(work: () => R): R {
    // IMMEDIATE takes the write lock at once: the reads above and the writes after them see one state.
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = work();
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
  }
}
