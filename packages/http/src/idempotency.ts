import { trace } from '@opentelemetry/api';
import type { RequestHandler, Response } from 'express';
import { HttpError } from './problem';

interface Answer {
  body: string;
  status: number;
  contentType: string;
}

interface Entry {
  /** The first request's body, so that a key reused for another request is refused rather than replayed. */
  fingerprint: string;
  /** Settles with the first answer, or with nothing when it was a 5xx (worth trying again) or never came. */
  answer: Promise<Answer | undefined>;
}

const KEY_PATTERN = /^[\x21-\x7e]{1,128}$/;

export const IDEMPOTENT_REPLAY_HEADER = 'Idempotent-Replayed';

/**
 * Honours `Idempotency-Key` on every POST: a repeat of a request (same key, route and body) gets the first
 * request's answer instead of doing the work again, also while the first is still running. 5xx answers are
 * not kept, so a retry after one runs again. The newest `capacity` keys are remembered.
 */
export function idempotency(capacity = 10_000): RequestHandler {
  const entries = new Map<string, Entry>();
  return (req, res, next) => {
    const key = req.get('idempotency-key');
    if (req.method !== 'POST' || key === undefined) return next();
    if (!KEY_PATTERN.test(key)) {
      throw new HttpError(400, 'Invalid Idempotency-Key', {
        detail: 'the Idempotency-Key header is not a usable key',
        errors: [{ field: 'headers.idempotency-key', reason: 'expected 1 to 128 printable characters' }],
      });
    }
    const scope = `${req.path} ${key}`;
    const fingerprint = JSON.stringify(req.body ?? null);
    const previous = entries.get(scope);
    if (previous) {
      if (previous.fingerprint !== fingerprint) {
        throw new HttpError(422, 'Idempotency-Key reused', {
          detail: 'this Idempotency-Key came with a different request body',
          errors: [{ field: 'headers.idempotency-key', reason: 'already used for another request' }],
        });
      }
      previous.answer.then((answer) => (answer ? replay(res, answer) : next()), next);
      return;
    }
    let settle!: (answer: Answer | undefined) => void;
    const entry: Entry = { fingerprint, answer: new Promise((resolve) => (settle = resolve)) };
    entries.set(scope, entry);
    if (entries.size > capacity) entries.delete(entries.keys().next().value!);
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      if (res.statusCode < 500) {
        const contentType = String(res.get('content-type') ?? 'application/json');
        settle({ body: JSON.stringify(body), status: res.statusCode, contentType });
      } else {
        if (entries.get(scope) === entry) entries.delete(scope);
        settle(undefined);
      }
      return json(body);
    };
    // A request that ended without an answer (the caller went away mid-way) leaves its key free for the retry.
    res.once('close', () => {
      if (!res.writableFinished && entries.get(scope) === entry) entries.delete(scope);
      settle(undefined);
    });
    next();
  };
}

function replay(res: Response, answer: Answer): void {
  trace.getActiveSpan()?.setAttribute('eshop.idempotent_replay', true);
  res.status(answer.status).set(IDEMPOTENT_REPLAY_HEADER, 'true').type(answer.contentType).send(answer.body);
}
