import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { context, propagation, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { ORDER_ID_KEY } from '@eshop/events';
import { recordFailure } from '@eshop/http';
import { logger } from '@eshop/logger';
import { transaction } from './store';

/** The steps of a checkout that change another service, in the order they run. */
export type Step = 'inventory' | 'billing' | 'delivery';

/** How to undo each step, by order id: each service answers 2xx when there is nothing to undo. */
export type Undoers = Record<Step, (orderId: string) => Promise<unknown>>;

/** The wait before an undo that failed is tried again, doubling up to the maximum (UNDO_RETRY_MAX_MS). */
export interface UndoRetry {
  firstMs: number;
  maxMs: number;
}

const tracer = trace.getTracer('eshop');

/**
 * How long an undo under way keeps its checkout from being retried: far longer than three undo calls take, each
 * bounded by its timeouts. A restart frees them all at once.
 */
const LEASE_MS = 120_000;

/**
 * The checkout's steps, on disk: a checkout writes down each step before it calls the service (one transaction
 * per step), so that whatever happens to eshop, it knows what may have been done. A checkout ends in one of two
 * ways, and its row goes away when it does:
 * - placed: the row is deleted in the transaction that stores the order's event in the outbox;
 * - undone: every step written down is undone, newest first. An undo that fails is tried again, with backoff,
 *   until it succeeds; a call to undo that reaches a service which had done nothing is harmless (it answers
 *   2xx, and refuses the step if it arrives late).
 * At start, every row an earlier run left behind is a checkout that crashed before its event was stored: it is
 * undone, in its checkout's trace, since no client was told it was placed.
 */
export class CheckoutJournal {
  private readonly insert: StatementSync;
  private readonly setSteps: StatementSync;
  private readonly toUndo: StatementSync;
  private readonly remove: StatementSync;
  private readonly stepsOf: StatementSync;
  private readonly due: StatementSync;
  private readonly later: StatementSync;
  private readonly abandon: StatementSync;
  private readonly nextDue: StatementSync;
  private timer?: NodeJS.Timeout;
  /** When the timer fires. */
  private nextAt = 0;
  private undoing?: Promise<void>;
  private closed = false;

  constructor(
    private readonly db: DatabaseSync,
    private readonly undoers: Undoers,
    private readonly retry: UndoRetry,
  ) {
    db.exec(`CREATE TABLE IF NOT EXISTS checkouts (
      order_id TEXT PRIMARY KEY,
      -- The steps that may have been done, oldest first, as JSON.
      steps TEXT NOT NULL,
      -- The checkout's trace context, so that an undo after a restart lands in the checkout's trace.
      carrier TEXT NOT NULL,
      -- 'running', then 'undoing' once it failed.
      state TEXT NOT NULL DEFAULT 'running',
      reason TEXT,
      attempts INTEGER NOT NULL DEFAULT 0,
      next_try_at INTEGER NOT NULL DEFAULT 0
    )`);
    this.insert = db.prepare('INSERT INTO checkouts (order_id, steps, carrier) VALUES (?, ?, ?)');
    this.setSteps = db.prepare('UPDATE checkouts SET steps = ? WHERE order_id = ?');
    this.toUndo = db.prepare("UPDATE checkouts SET state = 'undoing', reason = ?, next_try_at = ? WHERE order_id = ?");
    this.remove = db.prepare('DELETE FROM checkouts WHERE order_id = ?');
    this.stepsOf = db.prepare('SELECT steps FROM checkouts WHERE order_id = ?');
    this.due = db.prepare(
      "SELECT order_id, steps, carrier, reason, attempts FROM checkouts WHERE state = 'undoing' AND next_try_at <= ?",
    );
    this.later = db.prepare('UPDATE checkouts SET attempts = ?, next_try_at = ? WHERE order_id = ?');
    // Nothing is under way in a process that just started: every checkout left is due at once.
    this.abandon = db.prepare(
      "UPDATE checkouts SET reason = iif(state = 'running', 'eshop_restarted', reason), state = 'undoing', next_try_at = 0",
    );
    this.nextDue = db.prepare("SELECT min(next_try_at) AS at FROM checkouts WHERE state = 'undoing'");
  }

  /** Writes down a new checkout and its first step, in the active trace context; `also` joins the transaction. */
  begin(orderId: string, step: Step, also: () => void = () => {}): void {
    const carrier: Record<string, string> = {};
    propagation.inject(context.active(), carrier);
    transaction(this.db, () => {
      this.insert.run(orderId, JSON.stringify([step]), JSON.stringify(carrier));
      also();
    });
  }

  /** Writes down the next step, before it is called. */
  step(orderId: string, step: Step): void {
    this.setSteps.run(JSON.stringify([...this.steps(orderId), step]), orderId);
  }

  /** The checkout is placed: `store` (its event, its record) and the end of its row commit together. */
  placed(orderId: string, store: () => void): void {
    transaction(this.db, () => {
      store();
      this.remove.run(orderId);
    });
  }

  /**
   * The checkout failed: undoes its steps now, newest first, but not the last one when `skipLast` (it surely
   * did nothing: it was refused, or never reached its service). What cannot be undone now is tried again later;
   * `also` joins the transaction that marks the checkout as failing.
   */
  async undo(orderId: string, reason: string, skipLast: boolean, also: () => void = () => {}): Promise<void> {
    const steps = this.steps(orderId);
    const left = skipLast ? steps.slice(0, -1) : steps;
    transaction(this.db, () => {
      this.setSteps.run(JSON.stringify(left), orderId);
      this.toUndo.run(reason, this.lease(), orderId);
      also();
    });
    await this.undoSteps(orderId, left, reason, 0);
  }

  /**
   * At start: the checkouts an earlier run left running crashed before they were placed, so they are undone,
   * with those whose undo was still being retried. `also` joins the transaction that marks them. Returns how
   * many there are.
   */
  recover(also: () => void = () => {}): number {
    const abandoned = transaction(this.db, () => {
      const changes = Number(this.abandon.run().changes);
      also();
      return changes;
    });
    if (abandoned > 0) logger.warn({ checkouts: abandoned }, 'undoing the checkouts an earlier run left undone');
    this.schedule(0);
    return abandoned;
  }

  /** Stops retrying; an undo in flight finishes first. What is left is undone at the next start. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.undoing;
  }

  /** Until when an undo under way holds its checkout: no retry starts on it before (it ends far sooner). */
  private lease(): number {
    return Date.now() + LEASE_MS;
  }

  private steps(orderId: string): Step[] {
    const row = this.stepsOf.get(orderId);
    return row ? (JSON.parse(String(row.steps)) as Step[]) : [];
  }

  /**
   * Undoes `steps` newest first, each in a `compensate <service>` span, writing down what is left after each.
   * Returns whether all were undone; if not, the checkout is tried again after a backoff.
   */
  private async undoSteps(orderId: string, steps: Step[], reason: string, attempts: number): Promise<boolean> {
    const left = [...steps];
    for (const step of [...steps].reverse()) {
      const undone = await tracer.startActiveSpan(
        `compensate ${step}`,
        { kind: SpanKind.INTERNAL, attributes: { [ORDER_ID_KEY]: orderId, 'eshop.compensation.reason': reason } },
        async (span) => {
          try {
            await this.undoers[step](orderId);
            return true;
          } catch (error) {
            recordFailure(span, error, 'compensation_failed');
            logger.error({ orderId, step, attempts, err: error }, `could not undo the ${step} step; will try again`);
            return false;
          } finally {
            span.end();
          }
        },
      );
      if (!undone) {
        const waitMs = Math.min(this.retry.firstMs * 2 ** attempts, this.retry.maxMs);
        this.later.run(attempts + 1, Date.now() + waitMs, orderId);
        this.schedule(waitMs);
        return false;
      }
      left.pop();
      if (left.length > 0) this.setSteps.run(JSON.stringify(left), orderId);
      else this.remove.run(orderId);
    }
    if (steps.length === 0) this.remove.run(orderId);
    return true;
  }

  /** Retries the due undos in `delayMs`, unless a retry is already set to come sooner. */
  private schedule(delayMs: number): void {
    if (this.closed) return;
    const at = Date.now() + delayMs;
    if (this.timer && this.nextAt <= at) return;
    clearTimeout(this.timer);
    this.nextAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.undoing) return this.schedule(this.retry.firstMs);
      this.undoing = this.retryDue()
        .catch((error: unknown) => logger.error({ err: error }, 'undoing failed checkouts stopped'))
        .finally(() => (this.undoing = undefined));
    }, delayMs).unref();
  }

  /** Undoes the checkouts whose retry is due, each in its checkout's trace context. */
  private async retryDue(): Promise<void> {
    const rows = this.due.all(Date.now());
    transaction(this.db, () => {
      for (const row of rows) this.later.run(Number(row.attempts), this.lease(), String(row.order_id));
    });
    for (const row of rows) {
      if (this.closed) return;
      const orderId = String(row.order_id);
      const steps = JSON.parse(String(row.steps)) as Step[];
      const carrier = JSON.parse(String(row.carrier)) as Record<string, string>;
      await context.with(propagation.extract(ROOT_CONTEXT, carrier), () =>
        this.undoSteps(orderId, steps, String(row.reason), Number(row.attempts)),
      );
    }
    // Those held by an undo under way when this round started come back when their lease ends.
    const next = this.nextDue.get()?.at;
    if (typeof next === 'number') this.schedule(Math.max(next - Date.now(), 0));
  }
}
