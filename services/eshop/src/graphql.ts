import type { BillingClient } from '@eshop/billing/client';
import type { DeliveryClient } from '@eshop/delivery/client';
import { fieldProblems, HttpError, UpstreamError } from '@eshop/http';
import type { InventoryClient } from '@eshop/inventory/client';
import type { RequestHandler } from 'express';
import {
  buildSchema,
  GraphQLError,
  Kind,
  parse,
  type ASTVisitor,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import { createHandler } from 'graphql-http/lib/use/express';
import { orderSchema } from './api';
import type { Checkout } from './checkout';
import { IDEMPOTENCY_KEY_HEADER, parseIdempotencyKey } from './idempotency';

/**
 * The deepest selection a query may nest (`order { delivery { status } }` is 3), refused at validation beyond: more
 * than this schema needs, and a guard for the day a type refers to itself.
 */
export const MAX_DEPTH = 6;
/** How many tokens a query may have; the parser stops at the next one. The body limit (16 kB) comes first. */
export const MAX_TOKENS = 1000;

export const schema = buildSchema(`
  type Query {
    "The products, with their price and stock."
    catalog: [Product!]!
    "An order as billing and delivery know it; null when neither knows it."
    order(id: ID!): Order
  }

  type Mutation {
    "The same checkout as POST /checkout: reserve, charge, arrange the delivery, then publish OrderPlaced. With an Idempotency-Key header, placed once per key."
    placeOrder(input: OrderInput!): PlacedOrder!
  }

  input OrderInput {
    email: String!
    items: [OrderItemInput!]!
  }

  input OrderItemInput {
    sku: String!
    quantity: Int!
  }

  type Product {
    sku: ID!
    name: String!
    unitPrice: Float!
    currency: String!
    inStock: Int!
  }

  type PlacedOrder {
    orderId: ID!
    "The checkout's trace: look it up in Jaeger, or run pnpm trace <traceId>."
    traceId: String!
    status: String!
    total: Float!
    currency: String!
    reservationId: ID!
    paymentId: ID!
    deliveryId: ID!
    estimatedDelivery: String!
  }

  type Order {
    id: ID!
    payment: Payment
    delivery: Delivery
  }

  type Payment {
    paymentId: ID!
    amount: Float!
    currency: String!
    status: String!
  }

  type Delivery {
    deliveryId: ID!
    "scheduled, then dispatched once the order's event came through Kafka."
    status: String!
    estimatedDelivery: String!
    dispatchedAt: String
  }
`);

/** What a resolver reads of the HTTP request: the mutation honours `Idempotency-Key` as POST /checkout does. */
type RequestContext = { idempotencyKey?: string };

export interface GraphqlDependencies {
  checkout: Checkout;
  inventory: Pick<InventoryClient, 'catalog'>;
  billing: Pick<BillingClient, 'getPayment'>;
  delivery: Pick<DeliveryClient, 'getDelivery'>;
}

/**
 * `POST /graphql`, GraphQL over HTTP (graphql-http, the reference implementation, on graphql-js). The mutation is
 * the REST checkout itself: the same body validation (`orderSchema`) and the same `Checkout`, whose refusals become
 * GraphQL errors with an `extensions.code`. A query that does not parse, names an unknown field or is too deep or
 * too long never runs: it is answered 400 with `errors`.
 */
export function createGraphqlHandler({
  checkout,
  inventory,
  billing,
  delivery,
}: GraphqlDependencies): RequestHandler[] {
  const rootValue = {
    catalog: () => inventory.catalog(),
    order: async ({ id }: { id: string }) => {
      const [payment, shipment] = await Promise.all([
        orNullWhenUnknown(billing.getPayment(id)),
        orNullWhenUnknown(delivery.getDelivery(id)),
      ]);
      return payment || shipment ? { id, payment, delivery: shipment } : null;
    },
    placeOrder: async ({ input }: { input: unknown }, { idempotencyKey }: RequestContext) => {
      const order = orderSchema.safeParse(input);
      if (!order.success) {
        throw new GraphQLError('Invalid order', {
          extensions: { code: 'BAD_USER_INPUT', errors: fieldProblems(order.error, 'input') },
        });
      }
      try {
        return await checkout.place(order.data, parseIdempotencyKey(idempotencyKey));
      } catch (error) {
        throw asGraphqlError(error);
      }
    },
  };
  const handler = createHandler({
    schema,
    rootValue,
    context: (req): RequestContext => ({ idempotencyKey: req.raw.get(IDEMPOTENCY_KEY_HEADER) }),
    parse: (source) => parse(source, { maxTokens: MAX_TOKENS }),
    validationRules: [maxDepth(MAX_DEPTH)],
  });
  return [preferGraphqlResponse, handler];
}

/**
 * The GraphQL-over-HTTP spec's watershed (2025-01-01) has passed: a client that states no preference gets
 * `application/graphql-response+json`, whose status codes say what happened (400 for a request that does not parse
 * or validate). One that asks for `application/json` still gets the legacy answer, 200 for every GraphQL response.
 */
const preferGraphqlResponse: RequestHandler = (req, _res, next) => {
  const accept = req.headers.accept?.trim();
  if (!accept || accept === '*/*') req.headers.accept = 'application/graphql-response+json';
  next();
};

/**
 * A refused checkout keeps what the REST answer says: its title as `extensions.code` (`OUT_OF_STOCK`,
 * `PAYMENT_DECLINED`, `UNKNOWN_PRODUCT`, `CHECKOUT_UNAVAILABLE`), its HTTP status and its field problems.
 */
export function asGraphqlError(error: unknown): GraphQLError {
  if (!(error instanceof HttpError)) return new GraphQLError('Checkout failed', { extensions: { code: 'INTERNAL' } });
  const retryAfter = error.headers['Retry-After'];
  return new GraphQLError(error.message, {
    extensions: {
      code: error.title.toUpperCase().replace(/\W+/g, '_'),
      status: error.status,
      ...(error.errors ? { errors: error.errors } : {}),
      ...(retryAfter ? { retryAfterSeconds: Number(retryAfter) } : {}),
    },
  });
}

async function orNullWhenUnknown<T>(call: Promise<T>): Promise<T | null> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof UpstreamError && error.status === 404) return null;
    throw error;
  }
}

/** A validation rule: refuses an operation whose selections, fragments followed, nest deeper than `limit`. */
export function maxDepth(limit: number) {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of context.getDocument().definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    }
    // Depth of a selection set; a fragment already on the path counts for nothing (NoFragmentCycles reports it).
    const depthOf = (selectionSet: SelectionSetNode, path: Set<string>): number => {
      let deepest = 0;
      for (const selection of selectionSet.selections) {
        if (selection.kind === Kind.FIELD) {
          deepest = Math.max(deepest, 1 + (selection.selectionSet ? depthOf(selection.selectionSet, path) : 0));
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          deepest = Math.max(deepest, depthOf(selection.selectionSet, path));
        } else {
          const fragment = fragments.get(selection.name.value);
          if (fragment && !path.has(fragment.name.value)) {
            deepest = Math.max(deepest, depthOf(fragment.selectionSet, new Set(path).add(fragment.name.value)));
          }
        }
      }
      return deepest;
    };
    return {
      OperationDefinition(operation) {
        const depth = depthOf(operation.selectionSet, new Set());
        if (depth > limit) {
          context.reportError(
            new GraphQLError(`the query nests ${depth} levels deep; at most ${limit} are allowed`, {
              nodes: [operation],
              extensions: { code: 'QUERY_TOO_DEEP' },
            }),
          );
        }
      },
    };
  };
}
