import { setTimeout as delay } from 'node:timers/promises';
import { ORDER, poll, postJson, type Endpoints, type Order } from './fixture';

export interface Attempt {
  at: number;
  status: number;
  retryAfter: string | null;
  orderId?: string;
  traceId?: string;
}

/**
 * A checkout every 100 ms: a few hundred in a test, so that the stock lasts and one answer of GET /emails lists
 * every e-mail. One unit each, for the same reason.
 */
export const PACE_MS = 100;
export const ONE_UNIT: Order = { email: ORDER.email, items: [{ sku: 'SKU-3', quantity: 1 }] };

/** Checkouts one after another until `stop`: the load that a failure meets. No answer counts as status 0. */
export class CheckoutLoop {
  readonly attempts: Attempt[] = [];
  private readonly stopping = new AbortController();
  private readonly running: Promise<void>;

  constructor(private readonly stack: Endpoints) {
    this.running = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      const at = Date.now();
      const response = await postJson(`${this.stack.url('eshop')}/checkout`, ONE_UNIT).catch(() => undefined);
      const body = (response?.body ?? {}) as { orderId?: string; traceId?: string };
      this.attempts.push({
        at,
        status: response?.status ?? 0,
        retryAfter: response?.headers.get('retry-after') ?? null,
        orderId: body.orderId,
        traceId: body.traceId,
      });
      await delay(at + PACE_MS - Date.now());
    }
  }

  /** Waits until `count` more checkouts have been answered. */
  async more(count: number, timeoutMs = 60_000): Promise<void> {
    const target = this.attempts.length + count;
    await poll(
      `${count} more checkouts`,
      () => this.attempts.length,
      (length) => length >= target,
      timeoutMs,
    );
  }

  async stop(): Promise<Attempt[]> {
    this.stopping.abort();
    await this.running;
    return this.attempts;
  }
}
