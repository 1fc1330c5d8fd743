import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEnv } from '@eshop/config';
import { envSchema } from '../src/config';

describe('kafka-consumer settings', () => {
  it('retry bounded and the slowdown fault off by default', () => {
    const config = parseEnv(envSchema, {});
    assert.equal(config.FAULT_CONSUMER_DELAY_MS, 0);
    assert.deepEqual(
      [config.NOTIFICATION_MAX_ATTEMPTS, config.NOTIFICATION_RETRY_BASE_MS, config.NOTIFICATION_RETRY_MAX_MS],
      [5, 200, 5000],
    );
  });

  it('rejects an unbounded retry count and a delay past the session timeout', () => {
    assert.throws(() => parseEnv(envSchema, { NOTIFICATION_MAX_ATTEMPTS: '0' }), /NOTIFICATION_MAX_ATTEMPTS/);
    assert.throws(() => parseEnv(envSchema, { NOTIFICATION_MAX_ATTEMPTS: '1000' }), /NOTIFICATION_MAX_ATTEMPTS/);
    assert.throws(() => parseEnv(envSchema, { FAULT_CONSUMER_DELAY_MS: '60001' }), /FAULT_CONSUMER_DELAY_MS/);
  });
});
