import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DLQ_HEADERS } from '@eshop/events';
import { deadLetterHeaders } from '../src/dead-letters';

describe('deadLetterHeaders', () => {
  it('keeps the original headers, keeps a copy of the trace headers, and says why and from where', () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const headers = deadLetterHeaders(
      { traceparent, 'x-b3-traceid': '0af7651916cd43dd8448eb211c80319c', 'x-custom': Buffer.from('kept') },
      { topic: 'orders', partition: 2, offset: '41' },
      { reason: 'retries-exhausted', error: new Error('notification POST /sendEmail answered 503'), attempts: 5 },
      ['traceparent', 'tracestate', 'x-b3-traceid'],
    );
    assert.deepEqual(headers, {
      traceparent,
      'x-b3-traceid': '0af7651916cd43dd8448eb211c80319c',
      'x-custom': Buffer.from('kept'),
      [`${DLQ_HEADERS.original}traceparent`]: traceparent,
      [`${DLQ_HEADERS.original}x-b3-traceid`]: '0af7651916cd43dd8448eb211c80319c',
      [DLQ_HEADERS.reason]: 'retries-exhausted',
      [DLQ_HEADERS.error]: 'notification POST /sendEmail answered 503',
      [DLQ_HEADERS.topic]: 'orders',
      [DLQ_HEADERS.partition]: '2',
      [DLQ_HEADERS.offset]: '41',
      [DLQ_HEADERS.attempts]: '5',
    });
  });
});
