import type { DatabaseSync } from 'node:sqlite';

/**
 * Runs `write` in one transaction of eshop's SQLite file: one commit, so one write to disk. Called while a
 * transaction is already open, it becomes part of that one, so that a checkout commits its event, its order
 * record and its answer together, or none of them.
 */
export function transaction<T>(db: DatabaseSync, write: () => T): T {
  if (db.isTransaction) return write();
  db.exec('BEGIN');
  try {
    const result = write();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}
