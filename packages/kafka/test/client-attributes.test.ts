import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientAttributes } from '../src/client-attributes';

describe('clientAttributes', () => {
  it('names the client and its first bootstrap broker as server.address and server.port', () => {
    assert.deepEqual(clientAttributes('delivery', ['kafka-0.kafka:9092', 'kafka-1.kafka:9092']), {
      'messaging.client.id': 'delivery',
      'server.address': 'kafka-0.kafka',
      'server.port': 9092,
    });
  });

  it('keeps an IPv6 address whole and a broker without a port as it is', () => {
    assert.deepEqual(clientAttributes('eshop', ['[::1]:9092']), {
      'messaging.client.id': 'eshop',
      'server.address': '[::1]',
      'server.port': 9092,
    });
    assert.deepEqual(clientAttributes('eshop', ['kafka']), {
      'messaging.client.id': 'eshop',
      'server.address': 'kafka',
    });
  });
});
