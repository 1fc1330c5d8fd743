import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { OrderPlaced } from '@eshop/events';
import { UpstreamError, type RunningServer } from '@eshop/http';
import { parse, validate } from 'graphql';
import { send, serveWithSpans } from '@eshop/testing';
import { createApp } from '../src/app';
import { Checkout, type CheckoutDependencies } from '../src/checkout';
import {
  createGraphqlHandler,
  MAX_ALIASES,
  MAX_DEPTH,
  MAX_TOKENS,
  maxDepth,
  schema,
  type GraphqlDependencies,
} from '../src/graphql';

const PLACE_ORDER = `mutation Place($input: OrderInput!) {
  placeOrder(input: $input) { orderId traceId status total currency deliveryId }
}`;
const ORDER = { email: 'ada@example.com', items: [{ sku: 'SKU-1', quantity: 2 }] };

interface GraphqlBody {
  data?: Record<string, unknown> | null;
  errors?: {
    message: string;
    extensions?: { code?: string; status?: number; retryAfterSeconds?: number; errors?: { field: string }[] };
  }[];
}

/** Inventory, billing, delivery and outbox in memory; inventory refuses when told to. */
function fakes() {
  const stored: OrderPlaced[] = [];
  const state: { refusal?: UpstreamError } = {};
  const notFound = (service: string) => Promise.reject(new UpstreamError(service, 'refused', 404, {}, 'not found'));
  const checkout = {
    inventory: {
      createOrder: ({ orderId }) =>
        state.refusal
          ? Promise.reject(state.refusal)
          : Promise.resolve({ reservationId: 'r', orderId, items: [], total: 49.8, currency: 'EUR' }),
      releaseOrder: (orderId) => Promise.resolve({ orderId, status: 'released' as const }),
    },
    billing: {
      charge: ({ orderId, amount, currency }) =>
        Promise.resolve({ paymentId: 'p', orderId, amount, currency, status: 'charged' as const }),
      refund: (orderId) => Promise.resolve({ orderId, status: 'refunded' as const }),
    },
    delivery: {
      arrangeDelivery: ({ orderId }) =>
        Promise.resolve({ deliveryId: 'd', orderId, estimatedDelivery: '2030-01-01', status: 'scheduled' as const }),
      cancelDelivery: (orderId) => Promise.resolve({ orderId, status: 'cancelled' as const }),
    },
    outbox: { add: (event: OrderPlaced) => void stored.push(event) },
    orders: { add: () => {} },
    db: new DatabaseSync(':memory:'),
    idempotencyRetentionMs: 60_000,
    undoRetry: { firstMs: 10, maxMs: 100 },
  } satisfies CheckoutDependencies;
  const queries = {
    inventory: {
      catalog: () => Promise.resolve([{ sku: 'SKU-1', name: 'Mug', unitPrice: 24.9, currency: 'EUR', inStock: 5000 }]),
    },
    billing: {
      getPayment: (orderId: string) =>
        orderId === 'known'
          ? Promise.resolve({ paymentId: 'p', orderId, amount: 49.8, currency: 'EUR', status: 'charged' as const })
          : notFound('billing'),
    },
    delivery: { getDelivery: () => notFound('delivery') },
  } satisfies Omit<GraphqlDependencies, 'checkout'>;
  return { stored, state, checkout, queries };
}

describe('POST /graphql', () => {
  let services: ReturnType<typeof fakes>;
  let server: RunningServer;
  const graphql = async (query: string, variables?: unknown, headers: Record<string, string> = {}) => {
    const response = await send(`http://localhost:${server.port}`, '/graphql', { json: { query, variables }, headers });
    return { ...response, body: response.body as GraphqlBody };
  };

  before(async () => {
    services = fakes();
    const checkout = new Checkout(services.checkout);
    const app = createApp(checkout, { graphql: createGraphqlHandler({ checkout, ...services.queries }) });
    server = await serveWithSpans(app);
  });
  after(() => server.close());
  beforeEach(() => {
    services.stored.length = 0;
    delete services.state.refusal;
  });

  it('places an order with the same checkout as POST /checkout, and answers it with its trace id', async () => {
    const { status, headers, body } = await graphql(PLACE_ORDER, { input: ORDER });
    assert.equal(status, 200, JSON.stringify(body));
    assert.match(headers.get('content-type') ?? '', /^application\/graphql-response\+json/);
    const placed = body.data?.placeOrder as { orderId: string; traceId: string; status: string; total: number };
    assert.equal(placed.status, 'placed');
    assert.equal(placed.total, 49.8);
    assert.match(placed.traceId, /^[0-9a-f]{32}$/);
    assert.deepEqual(
      services.stored.map((event) => event.orderId),
      [placed.orderId],
    );
  });

  it('places an order once per Idempotency-Key, and refuses the key with another order', async () => {
    const key = { 'idempotency-key': '"graphql-key-1"' };
    const [first, again] = await Promise.all([
      graphql(PLACE_ORDER, { input: ORDER }, key),
      graphql(PLACE_ORDER, { input: ORDER }, key),
    ]);
    const later = await graphql(PLACE_ORDER, { input: ORDER }, key);
    assert.equal(services.stored.length, 1, 'one order');
    assert.deepEqual(again.body.data, first.body.data);
    assert.deepEqual(later.body.data, first.body.data);
    const other = await graphql(PLACE_ORDER, { input: { ...ORDER, email: 'grace@example.com' } }, key);
    assert.equal(other.body.errors?.[0]?.extensions?.code, 'IDEMPOTENCY_KEY_REUSED');
    assert.equal(other.body.errors?.[0]?.extensions?.status, 422);
    assert.equal(services.stored.length, 1);
  });

  it('answers the catalog, and an order billing knows (delivery does not), and null for an unknown one', async () => {
    const catalog = await graphql('{ catalog { sku inStock } }');
    assert.deepEqual(catalog.body.data, { catalog: [{ sku: 'SKU-1', inStock: 5000 }] });
    const known = await graphql('query ($id: ID!) { order(id: $id) { id payment { status } delivery { status } } }', {
      id: 'known',
    });
    assert.deepEqual(known.body.data, { order: { id: 'known', payment: { status: 'charged' }, delivery: null } });
    const unknown = await graphql('{ order(id: "nobody") { id } }');
    assert.deepEqual(unknown.body.data, { order: null });
  });

  it('refuses with the same validation as POST /checkout: a GraphQL error naming the field, nothing placed', async () => {
    const { status, body } = await graphql(PLACE_ORDER, { input: { ...ORDER, email: 'not-an-address' } });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.data, null);
    assert.equal(body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    assert.ok(body.errors?.[0]?.extensions?.errors?.some((error) => error.field === 'input.email'));
    assert.equal(services.stored.length, 0);
  });

  it("turns a service's refusal into a GraphQL error with extensions.code, never a 500", async () => {
    services.state.refusal = new UpstreamError(
      'inventory',
      'refused',
      409,
      { title: 'Out of stock', detail: 'not enough units in stock', errors: [{ field: 'items', reason: 'SKU-1' }] },
      'inventory answered 409',
    );
    const { status, body } = await graphql(PLACE_ORDER, { input: ORDER });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.errors?.[0]?.message, 'not enough units in stock');
    assert.deepEqual(body.errors?.[0]?.extensions, {
      code: 'OUT_OF_STOCK',
      status: 409,
      errors: [{ field: 'items', reason: 'SKU-1' }],
    });
  });

  for (const [name, query] of [
    ['a syntax error', '{ catalog { sku '],
    ['an unknown field', '{ catalog { sku colour } }'],
    ['a mutation argument of the wrong type', 'mutation { placeOrder(input: { email: 1, items: [] }) { orderId } }'],
    [`a query longer than ${MAX_TOKENS} tokens`, `{ ${'catalog { sku } '.repeat(MAX_TOKENS / 4)} }`],
  ] as const) {
    it(`answers ${name} with 400 and errors, and runs nothing`, async () => {
      const { status, body } = await graphql(query);
      assert.equal(status, 400, JSON.stringify(body));
      assert.ok((body.errors?.length ?? 0) > 0);
      assert.equal(body.data, undefined);
      assert.equal(services.stored.length, 0);
    });
  }

  it('answers 36 aliased placeOrder in one request with 400 before anything runs: no order placed', async () => {
    const mutation = `mutation Many($input: OrderInput!) { ${Array.from(
      { length: 36 },
      (_, i) => `o${i}: placeOrder(input: $input) { orderId }`,
    ).join(' ')} }`;
    const { status, body } = await graphql(mutation, { input: ORDER });
    assert.equal(status, 400, JSON.stringify(body));
    assert.deepEqual(body.errors?.map((error) => error.extensions?.code).sort(), [
      'TOO_MANY_ALIASES',
      'TOO_MANY_MUTATIONS',
    ]);
    assert.equal(services.stored.length, 0);
  });

  it('allows one placeOrder per request, fragments followed', async () => {
    const twice = `mutation ($input: OrderInput!) { placeOrder(input: $input) { orderId } ...Again }
      fragment Again on Mutation { again: placeOrder(input: $input) { orderId } }`;
    const { status, body } = await graphql(twice, { input: ORDER });
    assert.equal(status, 400, JSON.stringify(body));
    assert.deepEqual(
      body.errors?.map((error) => error.extensions?.code),
      ['TOO_MANY_MUTATIONS'],
    );
    assert.equal(services.stored.length, 0);
  });

  it(`allows ${MAX_ALIASES} aliases, and refuses one more`, async () => {
    const aliased = (count: number) =>
      `{ ${Array.from({ length: count }, (_, i) => `c${i}: catalog { sku }`).join(' ')} }`;
    assert.equal((await graphql(aliased(MAX_ALIASES))).status, 200);
    const { status, body } = await graphql(aliased(MAX_ALIASES + 1));
    assert.equal(status, 400);
    assert.equal(body.errors?.[0]?.extensions?.code, 'TOO_MANY_ALIASES');
  });

  for (const [name, query, variables] of [
    ['a syntax error at a string', '{ order(id: "x") "ada@example.com" }'],
    ['a string where an object goes', 'mutation { placeOrder(input: "ada@example.com") { orderId } }'],
    ['an object where an ID goes', '{ order(id: { email: "ada@example.com" }) { id } }'],
    ['a variable missing a field', PLACE_ORDER, { input: { email: 'ada@example.com' } }],
    ['a variable of the wrong type', PLACE_ORDER, { input: { email: ['ada@example.com'], items: [] } }],
  ] as const) {
    it(`answers ${name} with an error that does not quote the value`, async () => {
      const { body } = await graphql(query, variables);
      assert.ok((body.errors?.length ?? 0) > 0, JSON.stringify(body));
      assert.equal(body.data ?? null, null);
      assert.doesNotMatch(JSON.stringify(body), /ada@example\.com/);
    });
  }

  it('keeps the legacy answer for a client that asks for application/json: 200 with errors', async () => {
    const { status, body } = await graphql('{ catalog { colour } }', undefined, { accept: 'application/json' });
    assert.equal(status, 200);
    assert.ok((body.errors?.length ?? 0) > 0);
  });

  it('maps a 503 of the checkout to CHECKOUT_UNAVAILABLE with the wait before a retry', async () => {
    services.state.refusal = new UpstreamError('inventory', 'timeout', 0, undefined, 'inventory timed out');
    const { body } = await graphql(PLACE_ORDER, { input: ORDER });
    assert.equal(body.errors?.[0]?.extensions?.code, 'CHECKOUT_UNAVAILABLE');
    assert.equal(body.errors?.[0]?.extensions?.status, 503);
    assert.equal(body.errors?.[0]?.extensions?.retryAfterSeconds, 5);
  });
});

describe('maxDepth', () => {
  const errorsAt = (limit: number, query: string) =>
    validate(schema, parse(query), [maxDepth(limit)]).map((error) => error.extensions.code);

  it('counts nested selections, fragments followed, and refuses beyond the limit', () => {
    const query = '{ ...Q } fragment Q on Query { order(id: "x") { delivery { status } } }';
    assert.deepEqual(errorsAt(3, query), []);
    assert.deepEqual(errorsAt(2, query), ['QUERY_TOO_DEEP']);
  });

  it('stops at a fragment cycle instead of following it forever', () => {
    const query = '{ order(id: "x") { delivery { ...D } } } fragment D on Delivery { status ...D }';
    assert.deepEqual(errorsAt(MAX_DEPTH, query), []);
  });
});
