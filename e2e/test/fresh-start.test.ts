import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import { CACHE_DIR } from '@eshop/scripts/paths';
import { REGISTRY, Stack } from '@eshop/scripts';
import { emailsFor, ORDER, poll, postJson, type PlacedOrder } from '../src/fixture';

const STARTS = 10;
const ESHOP = `http://localhost:${REGISTRY.eshop.port}`;

/**
 * Places an order the moment eshop first answers ready, while the rest of the stack may still be starting: on a
 * fresh stack, kafka-consumer's group may not have joined yet.
 */
async function checkoutOnceEshopIsReady(): Promise<PlacedOrder> {
  await poll(
    'eshop to answer ready',
    () => fetch(`${ESHOP}/readyz`).then((response) => response.ok),
    (ready) => ready,
    120_000,
    20,
  );
  const response = await postJson(`${ESHOP}/checkout`, ORDER);
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body as PlacedOrder;
}

it(`e-mails an order placed the instant eshop is ready, on each of ${STARTS} fresh stacks, in its checkout trace`, async () => {
  let emailed = 0;
  for (let start = 1; start <= STARTS; start++) {
    // Each start empties the run folder: a new Kafka, so a new consumer group, and an empty ledger.
    const starting = Stack.start({ output: 'files', runDir: join(CACHE_DIR, 'e2e-fresh-start') });
    try {
      const placed = await checkoutOnceEshopIsReady();
      const stack = await starting;
      const [email] = await poll(
        `start ${start}: the e-mail of order ${placed.orderId}`,
        () => emailsFor(stack, placed.orderId),
        (emails) => emails.length === 1,
      );
      assert.equal(email.traceId, placed.traceId, `start ${start}: the e-mail is in the checkout's trace`);
      emailed++;
    } finally {
      await (await starting.catch(() => undefined))?.stop();
    }
  }
  console.log(`${emailed} of ${STARTS} orders placed the instant eshop was ready were e-mailed in their trace`);
});
