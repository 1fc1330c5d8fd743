import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { namedImages } from '../src/images';

describe('pnpm images', () => {
  it('makes the images .env and the Dockerfile name: its FROM lines with their ARGs from .env, no stage twice', async () => {
    assert.deepEqual((await namedImages()).sort(), [
      'apache/kafka:3.9.1',
      'jaegertracing/jaeger:2.13.0',
      'node:24-slim',
      'openzipkin/zipkin:3.6.1',
    ]);
  });
});
