import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DiagLogLevel } from '@opentelemetry/api';
import { readTracingConfig } from '../src/config';

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
