import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TraceSpan } from '@eshop/jaeger-query';
import { assertMessagingAttributes } from '../src/messaging';
import { ORDER, poll, postJson, theEmail, traceWithSpans, useStack, type Order } from '../src/fixture';

/** A REST checkout's 11 spans, with `POST /graphql` for `POST /checkout`, plus validate, the operation and its
 * resolver. */
const SPANS_PER_GRAPHQL_CHECKOUT = 14;

const PLACE_ORDER = `mutation PlaceOrder($input: OrderInput!) {
  placeOrder(input: $input) { orderId traceId status total }
}`;

interface GraphqlAnswer {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: { code?: string; status?: number } }[];
}

const only = (spans: TraceSpan[], match: (span: TraceSpan) => boolean, what: string): TraceSpan => {
  const found = spans.filter(match);
  assert.equal(found.length, 1, `expected one ${what}, found ${found.map((s) => `${s.service}:${s.name}`).join(', ')}`);
  return found[0];
};
const childrenOf = (spans: TraceSpan[], parent: TraceSpan) =>
  spans.filter((span) => span.parentSpanId === parent.spanId);

describe('GraphQL on eshop: POST /graphql', () => {
  const env = useStack('graphql');
  const graphql = async (query: string, variables?: unknown) => {
    const response = await postJson(`${env.stack.url('eshop')}/graphql`, { query, variables });
    return { status: response.status, headers: response.headers, body: response.body as GraphqlAnswer };
  };
  const placeOrder = async (order: Order) => {
    const { status, body } = await graphql(PLACE_ORDER, { input: order });
    assert.equal(status, 200, JSON.stringify(body));
    return body.data?.placeOrder as { orderId: string; traceId: string; status: string };
  };

  it('places an order as one trace: POST /graphql, the GraphQL spans, then the shape of a REST checkout', async () => {
    const placed = await placeOrder(ORDER);
    assert.equal(placed.status, 'placed');
    const spans = await traceWithSpans(env.jaeger, placed.traceId, SPANS_PER_GRAPHQL_CHECKOUT);
    const names = spans.map((s) => `${s.service}:${s.name}`).join(', ');
    assert.equal(spans.length, SPANS_PER_GRAPHQL_CHECKOUT, names);
    assert.deepEqual(
      new Set(spans.map((span) => span.service)),
      new Set(['eshop', 'inventory', 'billing', 'delivery', 'kafka-consumer', 'notification']),
    );

    const root = only(spans, (s) => s.parentSpanId === undefined, 'root span');
    assert.equal(`${root.service} ${root.name} ${root.kind}`, 'eshop POST /graphql server');
    assert.deepEqual(
      childrenOf(spans, root).map((span) => span.name),
      ['graphql.validate', 'mutation PlaceOrder'],
    );
    const operation = only(spans, (s) => s.name === 'mutation PlaceOrder', 'operation span');
    assert.equal(operation.attributes['graphql.operation.type'], 'mutation');
    assert.equal(operation.attributes['graphql.operation.name'], 'PlaceOrder');
    const resolver = only(childrenOf(spans, operation), () => true, 'span under the operation');
    assert.equal(resolver.name, 'graphql.resolve placeOrder');
    assert.doesNotMatch(JSON.stringify(spans), /ada@example\.com/, 'the e-mail address is on no span');

    // Under the resolver, exactly what a REST checkout has under POST /checkout.
    const calls = childrenOf(spans, resolver).filter((span) => span.kind === 'client');
    assert.deepEqual(
      calls.map((call) => {
        const [callee, ...more] = childrenOf(spans, call);
        assert.equal(more.length, 0);
        return `${callee.service} ${callee.name}`;
      }),
      ['inventory POST /createOrder', 'billing POST /payment', 'delivery POST /arrangeDelivery'],
    );
    const producer = only(spans, (s) => s.kind === 'producer', 'producer span');
    const consumer = only(spans, (s) => s.kind === 'consumer', 'consumer span');
    assert.equal(producer.parentSpanId, resolver.spanId);
    assert.equal(consumer.parentSpanId, producer.spanId);
    const kafka = { brokers: env.stack.kafkaBrokers, orderId: placed.orderId };
    assertMessagingAttributes(producer, { ...kafka, operation: 'send', clientId: 'eshop' });
    assertMessagingAttributes(consumer, {
      ...kafka,
      operation: 'process',
      clientId: 'kafka-consumer',
      group: 'kafka-consumer',
    });
    const emailCall = only(childrenOf(spans, consumer), (s) => s.kind === 'client', 'client span under the consumer');
    const [email] = childrenOf(spans, emailCall);
    assert.equal(`${email.service} ${email.name}`, 'notification POST /sendEmail');
    // The checkout runs in the resolver, whose span gets the order id, as POST /checkout's span does in REST.
    for (const span of [resolver, producer, consumer, email]) {
      assert.equal(
        span.attributes['eshop.order.id'],
        placed.orderId,
        `${span.service} ${span.name} carries eshop.order.id`,
      );
    }
    assert.equal((await theEmail(env.stack, placed.orderId)).traceId, placed.traceId);
  });

  it('answers the catalog, and an order with its payment and its delivery, dispatched once delivery consumed it', async () => {
    const catalog = await graphql('{ catalog { sku inStock } }');
    const products = catalog.body.data?.catalog as { sku: string }[];
    assert.deepEqual(
      products.map((product) => product.sku),
      ['SKU-1', 'SKU-2', 'SKU-3', 'SKU-4', 'SKU-5'],
    );
    const placed = await placeOrder(ORDER);
    const query = 'query ($id: ID!) { order(id: $id) { id payment { status } delivery { status dispatchedAt } } }';
    const answer = await poll(
      'the order dispatched',
      () => graphql(query, { id: placed.orderId }),
      (found) =>
        (found.body.data?.order as { delivery?: { status: string } } | null)?.delivery?.status === 'dispatched',
    );
    const order = answer.body.data?.order as { id: string; payment: { status: string } };
    assert.equal(order.id, placed.orderId);
    assert.equal(order.payment.status, 'charged');
    assert.deepEqual((await graphql(query, { id: 'no-such-order' })).body.data, { order: null });
  });

  it('refuses 36 aliased placeOrder in one request with 400, and places none of them', async () => {
    const { sku, quantity } = ORDER.items[0];
    const inStock = async () => {
      const { body } = await graphql('{ catalog { sku inStock } }');
      return (body.data?.catalog as { sku: string; inStock: number }[]).find((product) => product.sku === sku)!.inStock;
    };
    const before = await inStock();
    const aliased = Array.from({ length: 36 }, (_, i) => `o${i}: placeOrder(input: $input) { orderId }`).join(' ');
    const { status, body } = await graphql(`mutation Many($input: OrderInput!) { ${aliased} }`, { input: ORDER });
    assert.equal(status, 400, JSON.stringify(body));
    assert.equal(body.data, undefined);
    // One order placed after it takes the only units gone: the refused request reserved nothing.
    await placeOrder(ORDER);
    assert.equal(before - (await inStock()), quantity);
  });

  it('answers bad input as the GraphQL-over-HTTP spec says: 400 with errors, or a GraphQL error with a code', async () => {
    for (const [what, query] of [
      ['a syntax error', '{ catalog { sku '],
      ['an unknown field', '{ catalog { sku colour } }'],
      ['too many tokens', `{ ${'catalog { sku } '.repeat(300)} }`],
    ]) {
      const { status, headers, body } = await graphql(query);
      assert.equal(status, 400, `${what}: ${JSON.stringify(body)}`);
      assert.match(headers.get('content-type') ?? '', /^application\/graphql-response\+json/, what);
      assert.ok((body.errors?.length ?? 0) > 0, what);
    }

    const refused = await graphql(PLACE_ORDER, { input: { ...ORDER, items: [{ sku: 'SKU-404', quantity: 1 }] } });
    assert.equal(refused.status, 200, JSON.stringify(refused.body));
    assert.equal(refused.body.data, null);
    assert.deepEqual(
      refused.body.errors?.map((error) => [error.extensions?.code, error.extensions?.status]),
      [['UNKNOWN_PRODUCT', 422]],
    );

    const invalid = await graphql(PLACE_ORDER, { input: { ...ORDER, items: [] } });
    assert.equal(invalid.status, 200);
    assert.equal(invalid.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  });
});
