import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readExportConfig } from '../src/export';

describe('readExportConfig', () => {
  it('defaults to gRPC, and a queue that holds seconds of a busy service', () => {
    assert.deepEqual(readExportConfig({}), {
      protocol: 'grpc',
      maxQueueSize: 16384,
      maxExportBatchSize: 2048,
      timeoutMs: 30_000,
    });
  });

  it('reads the standard variables, the traces protocol before the general one', () => {
    assert.deepEqual(
      readExportConfig({
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
        OTEL_BSP_MAX_QUEUE_SIZE: '4096',
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '256',
        OTEL_EXPORTER_OTLP_TIMEOUT: '5000',
        OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '20000',
      }),
      { protocol: 'http/protobuf', maxQueueSize: 4096, maxExportBatchSize: 256, timeoutMs: 20_000 },
    );
    assert.equal(readExportConfig({ OTEL_EXPORTER_OTLP_TIMEOUT: '5000' }).timeoutMs, 5000);
    assert.equal(readExportConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }).protocol, 'http/protobuf');
  });

  it('keeps a batch no larger than the queue, and the defaults for sizes it cannot use', () => {
    assert.equal(readExportConfig({ OTEL_BSP_MAX_QUEUE_SIZE: '100' }).maxExportBatchSize, 100);
    assert.deepEqual(readExportConfig({ OTEL_BSP_MAX_QUEUE_SIZE: 'many', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '-1' }), {
      protocol: 'grpc',
      maxQueueSize: 16384,
      maxExportBatchSize: 2048,
      timeoutMs: 30_000,
    });
  });

  it('refuses a protocol it has no exporter for, naming the ones it has', () => {
    assert.throws(
      () => readExportConfig({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' }),
      /grpc or http\/protobuf/,
    );
  });
});
