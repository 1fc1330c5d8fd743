import { UpstreamError } from '@eshop/http';
import { parseOrderPlaced, type OrderPlaced, type UnreadableReason } from '@eshop/events';

/**
 * What happens to one message from `orders`, decided without Kafka: parsed, e-mailed with retries, or dead-lettered
 * for one of these reasons.
 */
export type DeadLetterReason = UnreadableReason | 'rejected' | 'retries-exhausted';

export type Outcome =
  | { kind: 'delivered'; attempts: number }
  | { kind: 'dead-letter'; reason: DeadLetterReason; error: Error; attempts: number };

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** A failure that may pass if the call is repeated: no answer, 5xx, 429, or anything unforeseen. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof UpstreamError)) return true;
  return error.status === 0 || error.status === 429 || error.status >= 500;
}

/**
 * The wait after failed attempt `attempt` (1-based): doubling from the base up to the maximum, then a random
 * point in its upper half, so that consumers which failed together do not all retry together.
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export interface MessageDeps {
  /** Asks notification for the confirmation e-mail; resolves once notification confirmed it. */
  sendConfirmation: (event: OrderPlaced) => Promise<void>;
  policy: RetryPolicy;
  /** Waits between attempts. It throws when the consumer is stopping: the message is then left uncommitted. */
  wait: (ms: number) => Promise<void>;
  onRetry?: (attempt: number, delayMs: number, error: unknown) => void;
}

/**
 * No answer from notification itself: none at all, or only its proxy's 502/503/504 (a sidecar while notification is
 * down, restarting or out of reach). That says nothing about the event, and dead-lettering it would only lose the
 * e-mail, so such a failure does not count against the attempts.
 */
export function isNoAnswer(error: unknown): boolean {
  return error instanceof UpstreamError && !error.answered;
}

/**
 * Parses one message and e-mails its order, and says how it ended. Transient failures are retried: without limit
 * while notification does not answer, and up to `maxAttempts` failed answers otherwise.
 */
export async function processMessage(
  value: Buffer | null,
  { sendConfirmation, policy, wait, onRetry }: MessageDeps,
): Promise<Outcome> {
  const parsed = parseOrderPlaced(value);
  if (!parsed.ok) return { kind: 'dead-letter', reason: parsed.reason, error: parsed.error, attempts: 1 };
  let failedAnswers = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      await sendConfirmation(parsed.event);
      return { kind: 'delivered', attempts: attempt };
    } catch (caught) {
      const error = caught instanceof Error ? caught : new Error(String(caught));
      if (!isTransient(error)) return { kind: 'dead-letter', reason: 'rejected', error, attempts: attempt };
      if (!isNoAnswer(error) && ++failedAnswers >= policy.maxAttempts)
        return { kind: 'dead-letter', reason: 'retries-exhausted', error, attempts: attempt };
      const delayMs = backoffDelay(attempt, policy);
      onRetry?.(attempt, delayMs, error);
      await wait(delayMs);
    }
  }
}
