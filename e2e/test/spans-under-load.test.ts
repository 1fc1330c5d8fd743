import assert from 'node:assert/strict';
import { it } from 'node:test';
import { SERVICES } from '@eshop/scripts';
import { OrdersTopic } from '@eshop/scripts/bench/kafka';
import { closedLoop, type Load } from '@eshop/scripts/bench/load';
import { countSpans } from '@eshop/scripts/bench/spans';
import { useStack } from '../src/fixture';

/** Enough checkouts for every service's export to run behind, over and over, at the pace the stack keeps. */
const CHECKOUTS = Number(process.env.SPANS_UNDER_LOAD_CHECKOUTS ?? 2000);
/** Five eshop spans each: more than the SDK's defaults hold, a queue of 2048 spans and an export of 512 under way. */
const CHECKOUTS_WHILE_STALLED = 700;
const CONNECTIONS = 16;

// The services export as in production, once a second, rather than at the tests' short interval; stock for any
// number of checkouts.
const context = useStack('spans-under-load', {
  serviceEnv: Object.fromEntries(
    SERVICES.map((service) => [
      service,
      { OTEL_BSP_SCHEDULE_DELAY: '1000', ...(service === 'inventory' ? { INITIAL_STOCK: '100000000' } : {}) },
    ]),
  ),
});

/** Waits until kafka-consumer has handled every event, then until each checkout's trace is whole in Jaeger. */
async function assertEveryTraceWhole(load: Load): Promise<void> {
  const { stack, jaeger } = context;
  assert.equal(load.failed, 0, 'every checkout is accepted');
  const topic = await OrdersTopic.connect(stack.kafkaBrokers);
  try {
    await topic.untilCaughtUp(600_000);
  } finally {
    await topic.close();
  }
  const spans = await countSpans(jaeger, load.traceIds, 600_000);
  console.log(
    `${load.checkouts} checkouts at ${(load.checkouts / load.seconds).toFixed(0)}/s: ` +
      `${spans.receivedSpans} of ${spans.expectedSpans} spans, ${spans.incompleteTraces} traces incomplete`,
  );
  assert.equal(spans.traces, load.checkouts);
  assert.equal(spans.incompleteTraces, 0, JSON.stringify(spans));
  for (const { name, url } of stack.endpoints) {
    const health = (await (await fetch(`${url}/healthz`)).json()) as { tracing?: { droppedSpans: number } };
    assert.deepEqual(health.tracing, { droppedSpans: 0 }, `${name} dropped no span`);
  }
}

it(`keeps every span of ${CHECKOUTS} checkouts placed as fast as the stack takes them`, async () => {
  await assertEveryTraceWhole(
    await closedLoop(context.stack.url('eshop'), { connections: CONNECTIONS, amount: CHECKOUTS }),
  );
});

// A saturated machine starves the trace backend of CPU for seconds at a time: the services hold their spans until
// it answers again.
it(`keeps every span of ${CHECKOUTS_WHILE_STALLED} checkouts placed while Jaeger is stopped (SIGSTOP)`, async () => {
  const [jaeger] = context.stack.infraPids().jaeger;
  assert.ok(jaeger, 'the stack runs Jaeger');
  process.kill(jaeger, 'SIGSTOP');
  let load: Load;
  try {
    load = await closedLoop(context.stack.url('eshop'), { connections: CONNECTIONS, amount: CHECKOUTS_WHILE_STALLED });
  } finally {
    process.kill(jaeger, 'SIGCONT');
  }
  await assertEveryTraceWhole(load);
});
