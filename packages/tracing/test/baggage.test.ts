import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { baggageAttributes } from '../src/sdk';

describe('baggageAttributes', () => {
  it('puts the named baggage entries, and only those, on every span started under them', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({
      spanProcessors: [baggageAttributes(['eshop.order.id']), new SimpleSpanProcessor({ exporter })],
    });
    const tracer = provider.getTracer('test');
    const baggage = propagation.createBaggage({
      'eshop.order.id': { value: 'order-7' },
      'eshop.fake': { value: 'from a caller' },
      'user.email': { value: 'ada@example.com' },
    });

    tracer.startSpan('without baggage', {}, ROOT_CONTEXT).end();
    tracer.startSpan('with baggage', {}, propagation.setBaggage(context.active(), baggage)).end();
    await provider.forceFlush();

    const [without, withBaggage] = exporter.getFinishedSpans();
    assert.deepEqual(without?.attributes, {});
    assert.deepEqual(withBaggage?.attributes, { 'eshop.order.id': 'order-7' });
  });
});
