import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceName } from '@eshop/scripts';
import { emailsByOrder, poll, postJson, useStack, type Order } from '../src/fixture';

const context = useStack('stateful-restarts');

/** Units of every SKU at start (inventory's INITIAL_STOCK default). */
const INITIAL_STOCK = 5000;
const SKU = 'SKU-3';
const ONE_UNIT: Order = { email: 'ada@example.com', items: [{ sku: SKU, quantity: 1 }] };

/** A 201 checkout: the ids of what each service said it did for the order. */
interface Placed {
  orderId: string;
  reservationId: string;
  paymentId: string;
  deliveryId: string;
}

/** Every checkout of the file, across the three kills: the stock they hold is counted over all of them. */
const placed: Placed[] = [];
/** The trace ids of the checkouts that were refused; their order ids are read from their traces. */
const refusedTraces: string[] = [];

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function inStock(): Promise<number> {
  const catalog = (await fetch(`${context.stack.url('inventory')}/catalog`).then((response) => response.json())) as {
    sku: string;
    inStock: number;
  }[];
  return catalog.find((entry) => entry.sku === SKU)!.inStock;
}

const payment = (orderId: string) => getJson(`${context.stack.url('billing')}/payment/${orderId}`);
const delivery = (orderId: string) => getJson(`${context.stack.url('delivery')}/deliveries/${orderId}`);

/** The order id of a refused checkout, from its checkout span in Jaeger. */
async function orderIdOf(traceId: string): Promise<string> {
  const spans = await poll(
    `the checkout span of trace ${traceId}`,
    () => context.jaeger.trace(traceId),
    (found) => found.some((span) => span.service === 'eshop' && span.attributes['eshop.order.id']),
  );
  return String(
    spans.find((span) => span.service === 'eshop' && span.attributes['eshop.order.id'])!.attributes['eshop.order.id'],
  );
}

/**
 * Places one-unit checkouts from two shoppers while `service` is SIGKILLed mid-stream and the stack's supervisor
 * restarts it: some checkouts are refused (503) while it is away.
 */
async function killDuringCheckouts(service: ServiceName): Promise<{ placed: number; refused: number }> {
  let placedHere = 0;
  let refusedHere = 0;
  let afterRestart = 0;
  let restarted = false;
  let stop = false;
  const shopper = async () => {
    for (let count = 0; !stop && count < 500; count++) {
      const response = await postJson(`${context.stack.url('eshop')}/checkout`, ONE_UNIT);
      if (response.status === 201) {
        placed.push(response.body as Placed);
        placedHere++;
        if (restarted) afterRestart++;
      } else {
        assert.equal(response.status, 503, `a refused checkout: ${JSON.stringify(response.body)}`);
        refusedTraces.push(response.headers.get('traceresponse')!.split('-')[1]);
        refusedHere++;
      }
      // A steady pace, so that a run places a hundred-odd orders rather than thousands.
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const shoppers = [shopper(), shopper()];
  try {
    await poll(
      'the first checkouts',
      () => placedHere,
      (count) => count >= 20,
    );
    await context.stack.killService(service);
    await context.stack.untilReady(service);
    restarted = true;
    await poll(
      'checkouts after the restart',
      () => afterRestart,
      (count) => count >= 20,
      60_000,
    );
  } finally {
    stop = true;
    await Promise.all(shoppers);
  }
  return { placed: placedHere, refused: refusedHere };
}

/**
 * What must hold after any restart: the stock is the initial stock less the placed orders' units; each placed order
 * has its one charge and its one delivery, the very ones its checkout was answered with, dispatched, and one e-mail;
 * each refused order has no charge, no delivery and no e-mail left.
 */
async function nothingLostOrDoubled(killed: ServiceName, counts: { placed: number; refused: number }) {
  const refused = await Promise.all(refusedTraces.map(orderIdOf));
  // An undo of a refused checkout may wait for the restarted service: bounded by the poll's deadline.
  const stock = await poll(
    `${SKU} stock of ${INITIAL_STOCK} less the ${placed.length} units placed`,
    inStock,
    (units) => units === INITIAL_STOCK - placed.length,
    60_000,
  );
  for (const order of placed) {
    const charge = await payment(order.orderId);
    assert.equal(charge.status, 200, `the charge of ${order.orderId}`);
    assert.equal(charge.body.paymentId, order.paymentId, `the one charge of ${order.orderId}`);
    assert.equal(charge.body.status, 'charged');
  }
  const dispatched = await poll(
    `the dispatch of all ${placed.length} placed orders`,
    () => Promise.all(placed.map(({ orderId }) => delivery(orderId))),
    (found) => found.every(({ body }) => body.status === 'dispatched'),
    60_000,
  );
  placed.forEach((order, index) => assert.equal(dispatched[index].body.deliveryId, order.deliveryId, order.orderId));
  for (const orderId of refused) {
    const charge = await payment(orderId);
    assert.ok(charge.status === 404 || charge.body.status === 'refunded', `${orderId} is charged`);
    const shipment = await delivery(orderId);
    assert.ok(shipment.status === 404 || shipment.body.status === 'cancelled', `${orderId} has a delivery`);
  }
  const emails = await poll(
    `e-mails for all ${placed.length} placed orders`,
    () => emailsByOrder(context.stack),
    (sent) => placed.every(({ orderId }) => sent.has(orderId)),
    60_000,
  );
  assert.equal(emails.size, placed.length, 'one e-mail per placed order, none for a refused one');
  console.log(
    `${killed} killed: ${counts.placed} placed and ${counts.refused} refused during the loop; over the file ` +
      `${placed.length} placed, ${placed.length} charges, ${dispatched.length} dispatched, ` +
      `${SKU} stock ${stock} (${INITIAL_STOCK} - ${placed.length}), ${emails.size} e-mails, ` +
      `${refused.length} refused with nothing left`,
  );
}

describe('inventory, billing and delivery each SIGKILLed during a checkout loop: nothing lost or doubled', () => {
  for (const service of ['inventory', 'billing', 'delivery'] as const) {
    it(`SIGKILL ${service}`, async () => {
      const counts = await killDuringCheckouts(service);
      await nothingLostOrDoubled(service, counts);
    });
  }
});
