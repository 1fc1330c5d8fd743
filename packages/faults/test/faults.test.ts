import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { context, propagation, trace } from '@opentelemetry/api';
import { recordSpans } from '@eshop/testing';
import {
  FAULT_REQUEST_KEY,
  FAULTS,
  faultEnv,
  faultFromEnv,
  faultInjectionHeaderEnv,
  parseFaultRequest,
  requestedFaults,
  withFaultRequest,
} from '../src';

const spans = recordSpans();

/** Runs `fn` inside a span whose context carries `baggage` as the `eshop.fault.requested` entry. */
function withFaultBaggage<T>(value: string | undefined, fn: () => T): T {
  const baggage =
    value === undefined ? propagation.createBaggage() : propagation.createBaggage({ [FAULT_REQUEST_KEY]: { value } });
  return context.with(propagation.setBaggage(context.active(), baggage), () =>
    trace.getTracer('test').startActiveSpan('request', (span) => {
      try {
        return fn();
      } finally {
        span.end();
      }
    }),
  );
}

describe('parseFaultRequest', () => {
  const good: [string, Record<string, number>][] = [
    ['payment-declined', { 'payment-declined': 100 }],
    ['delivery-slow', { 'delivery-slow': 2000 }],
    ['delivery-slow=3000, email-fails=50', { 'delivery-slow': 3000, 'email-fails': 50 }],
    [' out-of-stock , ', { 'out-of-stock': 100 }],
  ];
  for (const [value, expected] of good) {
    it(`reads "${value}"`, () => {
      const parsed = parseFaultRequest(value);
      assert.ok(parsed.success);
      assert.deepEqual(parsed.data, expected);
    });
  }
  const bad: [string, string][] = [
    ['no-such-fault', 'an unknown fault'],
    ['payment-declined=150', 'a percentage over 100'],
    ['delivery-slow=-1', 'a negative delay'],
    ['delivery-slow=soon', 'a setting that is not a number'],
    ['delivery-slow=999999', 'a delay over a minute'],
    ['payment-declined='.padEnd(300, '1'), 'an overlong header'],
  ];
  for (const [value, what] of bad) {
    it(`refuses ${what}`, () => {
      assert.equal(parseFaultRequest(value).success, false);
    });
  }
});

describe('fault settings in the environment', () => {
  it('are off unless set', () => {
    for (const name of Object.keys(FAULTS) as (keyof typeof FAULTS)[]) assert.equal(faultEnv(name).parse(undefined), 0);
    assert.equal(faultInjectionHeaderEnv().parse(undefined), 'disabled');
  });

  it('refuse a value out of range', () => {
    assert.equal(faultEnv('payment-declined').safeParse('101').success, false);
    assert.equal(faultEnv('delivery-slow').safeParse('-5').success, false);
  });
});

describe('FaultSwitch', () => {
  it('never strikes when off', () => {
    const fault = faultFromEnv('payment-declined', {}, () => 0);
    assert.equal(
      withFaultBaggage(undefined, () => fault.strikes()),
      false,
    );
  });

  it('strikes the given percentage of requests, and says so on the span', () => {
    spans.reset();
    const rolls = [0.1, 0.9];
    const fault = faultFromEnv('payment-declined', { FAULT_PAYMENT_DECLINE_PERCENT: 50 }, () => rolls.shift()!);
    assert.equal(
      withFaultBaggage(undefined, () => fault.strikes()),
      true,
    );
    assert.equal(
      withFaultBaggage(undefined, () => fault.strikes()),
      false,
    );
    assert.equal(spans.spans().length, 2);
    const [struck, spared] = spans.spans();
    assert.equal(struck?.attributes['eshop.fault'], 'payment-declined');
    assert.equal(struck?.attributes['eshop.fault.source'], 'env');
    assert.equal(spared?.attributes['eshop.fault'], undefined);
  });

  it("ignores the request's baggage unless per-request faults are enabled", () => {
    const fault = faultFromEnv('payment-declined', {}, () => 0.5);
    assert.equal(
      withFaultBaggage('payment-declined=100', () => fault.strikes()),
      false,
    );
  });

  it("takes the request's setting from baggage when enabled", () => {
    spans.reset();
    const fault = faultFromEnv('payment-declined', { FAULT_INJECTION_HEADER: 'enabled' }, () => 0.5);
    assert.equal(
      withFaultBaggage('payment-declined=100', () => fault.strikes()),
      true,
    );
    assert.equal(spans.spans()[0]?.attributes['eshop.fault.source'], 'header');
    assert.equal(
      withFaultBaggage('delivery-slow=10', () => fault.strikes()),
      false,
      'another fault named',
    );
  });

  it('waits a delay inside a span named after the fault', async () => {
    spans.reset();
    const fault = faultFromEnv('delivery-slow', { FAULT_DELIVERY_LATENCY_MS: 20 });
    const waited: number[] = [];
    const wait = (ms: number) => {
      waited.push(ms);
      return Promise.resolve();
    };
    assert.equal(await withFaultBaggage(undefined, () => fault.delay(wait)), 20);
    assert.deepEqual(waited, [20]);
    const span = spans.spans().find((recorded) => recorded.name === 'fault delivery-slow');
    assert.ok(span, 'a span for the wait');
    assert.equal(span.attributes['eshop.fault.setting'], 20);
  });
});

describe('the eshop.fault.requested baggage entry', () => {
  it('is set from a request and removed when there is none', () => {
    const set = withFaultRequest(context.active(), { 'payment-declined': 100 });
    assert.deepEqual(requestedFaults(set), { 'payment-declined': 100 });
    assert.deepEqual(requestedFaults(withFaultRequest(set, undefined)), {});
  });

  it('is ignored when malformed', () => {
    const baggage = propagation.createBaggage({ [FAULT_REQUEST_KEY]: { value: 'nonsense=1' } });
    assert.deepEqual(requestedFaults(propagation.setBaggage(context.active(), baggage)), {});
  });
});
