import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { ConfigError, envNames, httpUrl, list, parseEnv, port } from '../src/index';

const schema = z.object({
  PORT: port(8081),
  INVENTORY_URL: httpUrl('http://localhost:8081'),
  KAFKA_BROKERS: list('127.0.0.1:9092'),
  KAFKA_TRACE_MODE: z.enum(['parent', 'link']).default('parent'),
});

describe('parseEnv', () => {
  it('gives every default when nothing is set', () => {
    assert.deepEqual(parseEnv(schema, {}), {
      PORT: 8081,
      INVENTORY_URL: 'http://localhost:8081',
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      KAFKA_TRACE_MODE: 'parent',
    });
  });

  it('reads set values, trims a trailing slash and splits lists', () => {
    const config = parseEnv(schema, {
      PORT: '9000',
      INVENTORY_URL: 'http://inventory:8081/',
      KAFKA_BROKERS: 'kafka-1:9092, kafka-2:9092',
      KAFKA_TRACE_MODE: 'link',
    });
    assert.equal(config.PORT, 9000);
    assert.equal(config.INVENTORY_URL, 'http://inventory:8081');
    assert.deepEqual(config.KAFKA_BROKERS, ['kafka-1:9092', 'kafka-2:9092']);
    assert.equal(config.KAFKA_TRACE_MODE, 'link');
  });

  it('names every bad variable in one error', () => {
    assert.throws(
      () => parseEnv(schema, { PORT: '70000', INVENTORY_URL: 'ftp://x', KAFKA_TRACE_MODE: 'sideways' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /PORT/.test(error.message) &&
        /INVENTORY_URL/.test(error.message) &&
        /KAFKA_TRACE_MODE/.test(error.message),
    );
  });

  it('rejects an empty broker list', () => {
    assert.throws(() => parseEnv(schema, { KAFKA_BROKERS: ' , ' }), /KAFKA_BROKERS/);
  });

  it('lists the variables a schema reads', () => {
    assert.deepEqual(envNames(schema), ['PORT', 'INVENTORY_URL', 'KAFKA_BROKERS', 'KAFKA_TRACE_MODE']);
  });
});
