import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UpstreamError } from '@eshop/http';
import { parseOrderPlaced, type OrderPlaced } from '@eshop/events';
import { backoffDelay, isTransient, processMessage, type RetryPolicy } from '../src/message';

const EVENT: OrderPlaced = {
  type: 'OrderPlaced',
  orderId: 'order-1',
  email: 'ada@example.com',
  items: [{ sku: 'SKU-1', quantity: 2 }],
  total: 20,
  currency: 'EUR',
  placedAt: '2025-01-01T00:00:00.000Z',
};
const encode = (value: unknown) => Buffer.from(JSON.stringify(value));
const POLICY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1000 };
const answered = (status: number) =>
  new UpstreamError(
    'notification',
    status >= 500 ? 'failed' : 'refused',
    status,
    {},
    `notification POST /sendEmail answered ${status}`,
  );

/** A notification that fails with `failures` in turn, then succeeds; and the waits asked of the consumer. */
function script(...failures: Error[]) {
  const sent: OrderPlaced[] = [];
  const waits: number[] = [];
  return {
    sent,
    waits,
    deps: {
      policy: POLICY,
      sendConfirmation: (event: OrderPlaced) => {
        sent.push(event);
        const failure = failures.shift();
        return failure ? Promise.reject(failure) : Promise.resolve();
      },
      wait: (ms: number) => {
        waits.push(ms);
        return Promise.resolve();
      },
    },
  };
}

describe('parseOrderPlaced', () => {
  it('takes a valid OrderPlaced event', () => {
    assert.deepEqual(parseOrderPlaced(encode(EVENT)), { ok: true, event: EVENT });
  });

  it('calls a message that is not JSON, or has no value, not-json', () => {
    for (const value of [Buffer.from('{"type":"OrderPl'), Buffer.from([0xff, 0xfe]), null]) {
      const parsed = parseOrderPlaced(value);
      assert.equal(parsed.ok, false);
      assert.equal(!parsed.ok && parsed.reason, 'not-json');
    }
  });

  it('calls JSON that fails the schema invalid-event, naming the fields but not their values', () => {
    const parsed = parseOrderPlaced(encode({ ...EVENT, email: 'not-an-address', total: -1 }));
    assert.ok(!parsed.ok);
    assert.equal(parsed.reason, 'invalid-event');
    assert.match(parsed.error.message, /email, total/);
    assert.doesNotMatch(parsed.error.message, /not-an-address/);
    const array = parseOrderPlaced(encode([1, 2]));
    assert.equal(!array.ok && array.reason, 'invalid-event');
  });
});

describe('isTransient', () => {
  it('retries no answer, 5xx and 429, and anything unforeseen', () => {
    for (const status of [0, 429, 500, 502, 503, 504])
      assert.equal(isTransient(answered(status)), true, `status ${status}`);
    assert.equal(isTransient(new TypeError('socket hang up')), true);
  });

  it('does not retry the other 4xx answers', () => {
    for (const status of [400, 404, 409, 413, 422])
      assert.equal(isTransient(answered(status)), false, `status ${status}`);
  });
});

describe('backoffDelay', () => {
  it('doubles from the base, up to the maximum, within the upper half of each step', () => {
    const top = (attempt: number) => backoffDelay(attempt, POLICY, () => 1);
    const bottom = (attempt: number) => backoffDelay(attempt, POLICY, () => 0);
    assert.deepEqual([1, 2, 3, 4, 5, 6].map(top), [100, 200, 400, 800, 1000, 1000]);
    assert.deepEqual([1, 2, 3, 4, 5, 6].map(bottom), [50, 100, 200, 400, 500, 500]);
  });
});

describe('processMessage', () => {
  it('delivers at the first attempt without waiting', async () => {
    const { deps, sent, waits } = script();
    assert.deepEqual(await processMessage(encode(EVENT), deps), { kind: 'delivered', attempts: 1 });
    assert.deepEqual(sent, [EVENT]);
    assert.deepEqual(waits, []);
  });

  it('retries transient failures with growing waits until notification confirms', async () => {
    const { deps, sent, waits } = script(answered(0), answered(503), answered(429));
    assert.deepEqual(await processMessage(encode(EVENT), deps), { kind: 'delivered', attempts: 4 });
    assert.equal(sent.length, 4);
    assert.equal(waits.length, 3);
    waits.forEach((ms, index) =>
      assert.ok(ms >= 50 * 2 ** index && ms <= 100 * 2 ** index, `wait ${index + 1}: ${ms} ms`),
    );
  });

  it('dead-letters an event notification rejects, without retrying', async () => {
    const rejection = answered(400);
    const { deps, sent, waits } = script(rejection);
    assert.deepEqual(await processMessage(encode(EVENT), deps), {
      kind: 'dead-letter',
      reason: 'rejected',
      error: rejection,
      attempts: 1,
    });
    assert.equal(sent.length, 1);
    assert.deepEqual(waits, []);
  });

  it('dead-letters once the attempts are used up', async () => {
    const { deps, sent, waits } = script(...Array.from({ length: 10 }, () => answered(503)));
    const outcome = await processMessage(encode(EVENT), deps);
    assert.equal(outcome.kind === 'dead-letter' && outcome.reason, 'retries-exhausted');
    assert.equal(outcome.attempts, POLICY.maxAttempts);
    assert.equal(sent.length, POLICY.maxAttempts);
    assert.equal(waits.length, POLICY.maxAttempts - 1);
  });

  it("waits through a proxy's 502/503/504, however many attempts that takes: the service did not answer", async () => {
    const proxied = (status: number) =>
      new UpstreamError('notification', 'failed', status, 'no healthy upstream', `answered ${status}`, false);
    const failures = Array.from({ length: 3 * POLICY.maxAttempts }, (_, index) => proxied([502, 503, 504][index % 3]));
    const { deps } = script(...failures);
    assert.deepEqual(await processMessage(encode(EVENT), deps), {
      kind: 'delivered',
      attempts: 3 * POLICY.maxAttempts + 1,
    });
  });

  it('waits for a notification that does not answer, however many attempts that takes', async () => {
    const { deps, sent } = script(...Array.from({ length: 3 * POLICY.maxAttempts }, () => answered(0)));
    assert.deepEqual(await processMessage(encode(EVENT), deps), {
      kind: 'delivered',
      attempts: 3 * POLICY.maxAttempts + 1,
    });
    assert.equal(sent.length, 3 * POLICY.maxAttempts + 1);
  });

  it('counts only failed answers against the attempts, not the times notification did not answer', async () => {
    const failures = [
      answered(0),
      answered(503),
      answered(0),
      answered(503),
      answered(503),
      answered(0),
      answered(503),
    ];
    const { deps, sent } = script(...failures);
    const outcome = await processMessage(encode(EVENT), deps);
    assert.equal(outcome.kind === 'dead-letter' && outcome.reason, 'retries-exhausted');
    assert.equal(outcome.attempts, failures.length);
    assert.equal(sent.length, failures.length);
  });

  it('dead-letters a poison message without calling notification', async () => {
    const { deps, sent } = script();
    const outcome = await processMessage(Buffer.from('not json'), deps);
    assert.deepEqual(
      [outcome.kind, outcome.kind === 'dead-letter' && outcome.reason, outcome.attempts],
      ['dead-letter', 'not-json', 1],
    );
    assert.deepEqual(sent, []);
  });

  it('neither delivers nor dead-letters when a wait is cut short by a stop', async () => {
    const { deps } = script(answered(503));
    const stopped = new Error('The operation was aborted');
    await assert.rejects(processMessage(encode(EVENT), { ...deps, wait: () => Promise.reject(stopped) }), stopped);
  });
});
