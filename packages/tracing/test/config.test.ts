import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DiagLogLevel } from '@opentelemetry/api';
import { parseServiceTracing, readServiceTracing, readTracingConfig } from '../src/config';

describe('readTracingConfig', () => {
  it('defaults to B3 then W3C propagation, a one-second batch and warnings', () => {
    assert.deepEqual(readTracingConfig({}), {
      propagators: ['b3multi', 'tracecontext', 'baggage'],
      batchDelayMs: 1000,
      diagLogLevel: DiagLogLevel.WARN,
    });
  });

  it('reads the standard variables', () => {
    assert.deepEqual(
      readTracingConfig({
        OTEL_PROPAGATORS: ' tracecontext , b3multi ',
        OTEL_BSP_SCHEDULE_DELAY: '200',
        OTEL_LOG_LEVEL: 'DEBUG',
      }),
      { propagators: ['tracecontext', 'b3multi'], batchDelayMs: 200, diagLogLevel: DiagLogLevel.DEBUG },
    );
  });

  it('falls back to the defaults on values it cannot use', () => {
    const config = readTracingConfig({ OTEL_BSP_SCHEDULE_DELAY: 'soon', OTEL_LOG_LEVEL: 'loud' });
    assert.equal(config.batchDelayMs, 1000);
    assert.equal(config.diagLogLevel, DiagLogLevel.WARN);
  });
});

describe('readServiceTracing', () => {
  it("reads the tracing field of the package.json nearest the service's main script", () => {
    const dir = mkdtempSync(join(tmpdir(), 'eshop-tracing-'));
    try {
      const tracing = { baggageAttributes: ['app.order.id'], queueTimeAttribute: 'app.queue_time_ms' };
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'a-service', tracing }));
      mkdirSync(join(dir, 'dist', 'src'), { recursive: true });
      assert.deepEqual(readServiceTracing(join(dir, 'dist', 'src', 'main.js')), tracing);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('asks for nothing when the field is absent', () => {
    assert.deepEqual(parseServiceTracing({}), { baggageAttributes: [] });
  });

  it('names a malformed field', () => {
    assert.throws(() => parseServiceTracing({ tracing: { baggageAttributes: 'app.order.id' } }), /baggageAttributes/);
    assert.throws(() => parseServiceTracing({ tracing: { queueTimeAttribute: 7 } }), /queueTimeAttribute/);
  });
});
