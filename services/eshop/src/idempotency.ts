import { createHash } from 'node:crypto';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { trace } from '@opentelemetry/api';
import { HttpError } from '@eshop/http';
import type { Order, PlacedOrder } from './api';

/** The request header (IETF httpapi's Idempotency-Key draft) that makes a checkout safe to repeat. */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
/** On a checkout's span: true when the answer is the stored answer of an earlier request with the same key. */
export const REPLAYED_ATTRIBUTE = 'eshop.idempotency.replayed';

/** A checkout's answer, as stored for its key: the order placed, or the refusal. */
type Answer =
  | { placed: PlacedOrder }
  | { refused: { status: number; title: string; detail: string; errors?: HttpError['errors'] } };

/**
 * The key a client sent: the draft makes it a structured-field string (`"8e03978e-..."`); a bare token is taken
 * too. Undefined when there is none; a 400 when it is empty, too long or not printable ASCII.
 */
export function parseIdempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const key = /^"(.*)"$/.exec(header.trim())?.[1] ?? header.trim();
  if (!/^[\x20-\x7e]{1,255}$/.test(key) || key.includes('"')) {
    throw new HttpError(400, 'Invalid Idempotency-Key', {
      detail: 'an Idempotency-Key is 1 to 255 printable ASCII characters, best a UUID, quoted: "<key>"',
      errors: [{ field: `headers.${IDEMPOTENCY_KEY_HEADER}`, reason: 'not 1 to 255 printable ASCII characters' }],
    });
  }
  return key;
}

/**
 * Checkouts by `Idempotency-Key`: the first request with a key runs the checkout; a repeat with the same order gets
 * the first one's answer (the same order id and trace id, the same status), one with another order a 422.
 *
 * - A repeat that arrives while the first is still running waits for its answer, rather than being told 409 to
 *   come back later: the client gets what it asked for in one round trip.
 * - What is stored is the checkout's final answer, in the transaction that decides it: an order placed (with its
 *   event in the outbox) or a refusal (out of stock, payment declined). A checkout that failed for a reason worth
 *   retrying (a 503: a service did not answer, it was undone) stores nothing, so a retry with the key runs again.
 * - Keys are kept `retentionMs` (IDEMPOTENCY_RETENTION_MS), then forgotten: a key sent again after that places
 *   a new order.
 * - The key is the checkout's, whatever the protocol: the same key and order over REST and GraphQL is one order.
 */
export class IdempotencyKeys {
  private readonly select: StatementSync;
  private readonly insert: StatementSync;
  private readonly answer: StatementSync;
  private readonly remove: StatementSync;
  private readonly unanswered: StatementSync;
  private readonly expired: StatementSync;
  /** The checkouts running now, by key: a repeat waits for their answer. */
  private readonly running = new Map<string, { fingerprint: string; answer: Promise<PlacedOrder> }>();

  constructor(
    db: DatabaseSync,
    private readonly retentionMs: number,
  ) {
    db.exec(`CREATE TABLE IF NOT EXISTS idempotency_keys (
      key TEXT PRIMARY KEY,
      fingerprint TEXT NOT NULL,
      -- The answer as JSON; NULL while the checkout runs.
      answer TEXT,
      created_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS idempotency_keys_created_at ON idempotency_keys (created_at)`);
    this.select = db.prepare('SELECT fingerprint, answer FROM idempotency_keys WHERE key = ? AND created_at > ?');
    this.insert = db.prepare('INSERT OR REPLACE INTO idempotency_keys (key, fingerprint, created_at) VALUES (?, ?, ?)');
    this.answer = db.prepare('UPDATE idempotency_keys SET answer = ? WHERE key = ?');
    this.remove = db.prepare('DELETE FROM idempotency_keys WHERE key = ?');
    this.unanswered = db.prepare('DELETE FROM idempotency_keys WHERE answer IS NULL');
    this.expired = db.prepare('DELETE FROM idempotency_keys WHERE created_at <= ?');
  }

  /**
   * Runs `checkout` once per key: `checkout` must `claim` the key in the transaction that starts it, and
   * `placed` or `refused` or `release` it in the one that ends it.
   */
  async once(key: string, order: Order, checkout: () => Promise<PlacedOrder>): Promise<PlacedOrder> {
    const fingerprint = fingerprintOf(order);
    const running = this.running.get(key);
    if (running) {
      this.check(fingerprint, running.fingerprint);
      return replayed(running.answer);
    }
    const row = this.select.get(key, Date.now() - this.retentionMs);
    if (row?.answer != null) {
      this.check(fingerprint, String(row.fingerprint));
      return replayed(JSON.parse(String(row.answer)) as Answer);
    }
    const answer = checkout();
    this.running.set(key, { fingerprint, answer });
    try {
      return await answer;
    } finally {
      this.running.delete(key);
    }
  }

  /**
   * Writes down that the checkout of `key` has started (a crash before its answer releases it at the next
   * start), and forgets the keys older than the retention while at it: no write of its own.
   */
  claim(key: string, order: Order): void {
    const now = Date.now();
    this.expired.run(now - this.retentionMs);
    this.insert.run(key, fingerprintOf(order), now);
  }

  placed(key: string, placed: PlacedOrder): void {
    this.answer.run(JSON.stringify({ placed } satisfies Answer), key);
  }

  /** Stores a refusal as the key's answer, or forgets the key when the failure is worth a retry (5xx). */
  failed(key: string, { status, title, message, errors }: HttpError): void {
    if (status >= 500) this.remove.run(key);
    else this.answer.run(JSON.stringify({ refused: { status, title, detail: message, errors } } satisfies Answer), key);
  }

  /** At start: the keys of checkouts that an earlier run did not finish; those checkouts are being undone. */
  releaseUnanswered(): void {
    this.unanswered.run();
  }

  private check(fingerprint: string, first: string): void {
    if (fingerprint !== first) {
      throw new HttpError(422, 'Idempotency-Key reused', {
        detail: 'this Idempotency-Key was sent before with another order; use a new key for a new order',
        errors: [{ field: `headers.${IDEMPOTENCY_KEY_HEADER}`, reason: 'sent before with another order' }],
      });
    }
  }
}

/** The order, as a repeat must send it again. */
const fingerprintOf = (order: Order) => createHash('sha256').update(JSON.stringify(order)).digest('base64url');

/** The first request's answer, marked on this request's span as a replay. */
async function replayed(answer: Answer | Promise<PlacedOrder>): Promise<PlacedOrder> {
  trace.getActiveSpan()?.setAttribute(REPLAYED_ATTRIBUTE, true);
  if (answer instanceof Promise) return answer;
  if ('placed' in answer) return answer.placed;
  const { status, title, detail, errors } = answer.refused;
  throw new HttpError(status, title, { detail, errors });
}
