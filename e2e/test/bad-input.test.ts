import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SERVICES, type ServiceName } from '@eshop/scripts';
import { CACHE_DIR } from '@eshop/scripts/paths';
import { assertProblem, send } from '@eshop/testing';
import { ORDER, poll, postJson, useStack } from '../src/fixture';

const NAME = 'bad-input';
const ctx = useStack(NAME);

interface BadInput {
  service: ServiceName;
  name: string;
  method?: string;
  path: string;
  body?: string;
  headers?: Record<string, string>;
  status: number;
  /** A field the problem's `errors` must name. */
  field?: string;
}

const json = { 'content-type': 'application/json' };
const order = (items: unknown, email: unknown = ORDER.email) => JSON.stringify({ email, items });

/**
 * Bad input that needs the real stack: each service's own refusals are unit tests (`itAnswersBadInputs`), but an
 * unknown SKU is judged by inventory and must come back through eshop as the caller's problem.
 */
const BAD_INPUTS: BadInput[] = [
  {
    service: 'eshop',
    name: 'an unknown SKU',
    path: '/checkout',
    body: order([{ sku: 'SKU-404', quantity: 1 }]),
    headers: json,
    status: 422,
    field: 'items.0.sku',
  },
];

const VALID_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const VALID_PARENT = '00f067aa0ba902b7';
const ZERO_TRACE = '0'.repeat(32);

interface HostileHeaders {
  name: string;
  headers: Record<string, string>;
  /** The header the service's log must name as ignored, if the trace does not follow it. */
  ignored?: string;
  /** The trace the request must continue; otherwise it must be a fresh one. */
  continues?: string;
  /** Trace ids the request must not end up in. */
  notIn: string[];
}

const HOSTILE: HostileHeaders[] = [
  {
    name: 'traceparent version ff',
    headers: { traceparent: `ff-${VALID_TRACE}-${VALID_PARENT}-01` },
    ignored: 'traceparent',
    notIn: [VALID_TRACE],
  },
  {
    name: 'an all-zero trace id',
    headers: { traceparent: `00-${ZERO_TRACE}-${VALID_PARENT}-01` },
    ignored: 'traceparent',
    notIn: [ZERO_TRACE],
  },
  {
    name: 'an all-zero parent id',
    headers: { traceparent: `00-${'1'.repeat(32)}-${'0'.repeat(16)}-01` },
    ignored: 'traceparent',
    notIn: ['1'.repeat(32)],
  },
  {
    name: 'a trace id of the wrong length',
    headers: { traceparent: `00-${'2'.repeat(30)}-${VALID_PARENT}-01` },
    ignored: 'traceparent',
    notIn: [],
  },
  {
    name: 'a huge tracestate',
    headers: {
      traceparent: `00-${'3'.repeat(32)}-${VALID_PARENT}-01`,
      tracestate: Array.from({ length: 64 }, (_, i) => `v${i}=${'x'.repeat(60)}`).join(','),
    },
    continues: '3'.repeat(32),
    notIn: [],
  },
  {
    name: 'a huge baggage',
    headers: { baggage: Array.from({ length: 300 }, (_, i) => `k${i}=${'y'.repeat(30)}`).join(',') },
    notIn: [],
  },
  {
    name: 'B3 and W3C naming different traces',
    headers: {
      traceparent: `00-${'4'.repeat(32)}-${VALID_PARENT}-01`,
      'x-b3-traceid': '5'.repeat(32),
      'x-b3-spanid': VALID_PARENT,
      'x-b3-sampled': '1',
    },
    ignored: 'x-b3-traceid',
    continues: '4'.repeat(32),
    notIn: ['5'.repeat(32)],
  },
  {
    name: 'a broken B3 trace id',
    headers: { 'x-b3-traceid': 'not-hex', 'x-b3-spanid': VALID_PARENT },
    ignored: 'x-b3-traceid',
    notIn: [],
  },
];

async function logLines(service: ServiceName): Promise<Record<string, unknown>[]> {
  const text = await readFile(join(CACHE_DIR, `e2e-${NAME}`, `${service}.log`), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('bad input to the real services', () => {
  for (const input of BAD_INPUTS) {
    it(`${input.service} answers ${input.status} to ${input.name}`, async () => {
      const { service, path, method = 'POST', headers, body } = input;
      assertProblem(
        await send(ctx.stack.url(service), path, { method, headers, raw: body }),
        input.status,
        input.field,
      );
    });
  }

  for (const hostile of HOSTILE) {
    const says = hostile.ignored ? ', says so in the log,' : '';
    it(`places a checkout despite ${hostile.name}${says} and traces it`, async () => {
      const response = await postJson(`${ctx.stack.url('eshop')}/checkout`, ORDER, hostile.headers);
      assert.equal(response.status, 201, JSON.stringify(response.body));
      const placed = response.body as { traceId: string };
      const traceId = /^00-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/.exec(
        response.headers.get('traceresponse') ?? '',
      )?.[1];
      assert.ok(traceId, 'a traceresponse header');
      assert.equal(placed.traceId, traceId);
      assert.notEqual(traceId, ZERO_TRACE);
      for (const bad of hostile.notIn) assert.notEqual(traceId, bad);
      if (hostile.continues) assert.equal(traceId, hostile.continues);

      await poll(
        `eshop's span of trace ${traceId}`,
        () => ctx.jaeger.trace(traceId),
        (found) => Boolean(found?.some((span) => span.service === 'eshop' && span.kind === 'server')),
      );

      if (!hostile.ignored) return;
      const ignored = hostile.ignored;
      const warning = await poll(
        `a warning in eshop's log naming ${ignored} for trace ${traceId}`,
        () => logLines('eshop'),
        (lines) =>
          lines.some(
            (line) =>
              line.trace_id === traceId &&
              line.level === 'warn' &&
              JSON.stringify(line.ignored).includes(`"${ignored}"`),
          ),
      );
      const line = warning.find((entry) => entry.trace_id === traceId && entry.level === 'warn')!;
      assert.equal(line.fresh_trace, hostile.continues === undefined);
    });
  }

  it('leaves every service healthy', async () => {
    for (const service of SERVICES) {
      const response = await fetch(`${ctx.stack.url(service)}/healthz`);
      assert.equal(response.status, 200, service);
    }
  });
});
