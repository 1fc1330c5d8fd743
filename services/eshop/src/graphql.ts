import type { BillingClient } from '@eshop/billing/client';
import type { DeliveryClient } from '@eshop/delivery/client';
import { fieldProblems, HttpError, UpstreamError } from '@eshop/http';
import type { InventoryClient } from '@eshop/inventory/client';
import type { RequestHandler } from 'express';
import {
  buildSchema,
  GraphQLError,
  Kind,
  OperationTypeNode,
  print,
  type ASTNode,
  type ASTVisitor,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type Source,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { Parser } from 'graphql/language/parser';
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
/** How many aliased fields a query may have: each alias runs its field again, calls to the services included. */
export const MAX_ALIASES = 10;
/** How many root fields a mutation may have: one `placeOrder` per request, so one request is at most one order. */
export const MAX_ROOT_MUTATION_FIELDS = 1;

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
    "scheduled, then dispatched once the order's event came through Kafka; cancelled when its checkout was undone."
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
    parse: parseWithoutLiterals,
    validationRules: (_req, _args, specifiedRules) =>
      [
        ...specifiedRules,
        maxDepth(MAX_DEPTH),
        maxAliases(MAX_ALIASES),
        maxRootMutationFields(MAX_ROOT_MUTATION_FIELDS),
      ].map(reportingWithoutLiterals),
    formatError: (error) => (error instanceof GraphQLError ? withoutLiterals(error) : error),
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

/**
 * graphql-js writes the query's values into its messages: a syntax error quotes the token it stopped at (`found
 * String "ada@example.com"`), a value of the wrong type is printed whole. That would put a customer's e-mail address
 * in the answer, and on the spans, where the instrumentation records each parse and validation error. These
 * functions keep the message and drop the values, before anything sees the error.
 */
export function withoutLiterals(error: GraphQLError): GraphQLError {
  let message = error.message;
  if (message.startsWith('Syntax Error:')) {
    // The token it stopped at: `found String "…"`, `Unexpected Name "…"` (graphql-js's getTokenDesc).
    message = message.replace(/\b(Name|Int|Float|String|BlockString|Comment) ".*"/s, '$1');
  }
  // A variable of the wrong type: `Variable "$input" got invalid value { … } at "input.items"; <reason>`.
  message = message.replace(
    /^(Variable "\$\w+" got invalid value) .*?( at "[\w$.[\]]*")?; .*$/s,
    (_all, head: string, at = '') => `${head}${at}; ${literalFreeReason(error.originalError?.message)}`,
  );
  // A value in the query that the error is about (its nodes), printed as the query wrote it.
  for (const node of error.nodes ?? []) {
    if (isValue(node)) message = message.split(print(node)).join('<value>');
  }
  if (message === error.message) return error;
  return new GraphQLError(message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: error.extensions,
  });
}

/** A coercion failure's reason without the value it quotes: `String cannot represent a non string value: 5`. */
function literalFreeReason(reason = 'invalid value'): string {
  return reason.replace(/: .*$/s, '');
}

const VALUE_KINDS = new Set<string>([
  Kind.STRING,
  Kind.INT,
  Kind.FLOAT,
  Kind.BOOLEAN,
  Kind.ENUM,
  Kind.LIST,
  Kind.OBJECT,
]);
const isValue = (node: ASTNode) => VALUE_KINDS.has(node.kind);

/**
 * graphql-js's parser itself, not the instrumented `parse`: the instrumentation records a syntax error on its
 * `graphql.parse` span before anyone can take the value out of the message. The trace has no parse span then; the
 * validation and execution spans remain.
 */
function parseWithoutLiterals(source: string | Source) {
  try {
    return new Parser(source, { maxTokens: MAX_TOKENS }).parseDocument();
  } catch (error) {
    throw error instanceof GraphQLError ? withoutLiterals(error) : error;
  }
}

/** A validation rule whose errors are reported without the values they quote (see withoutLiterals). */
function reportingWithoutLiterals(rule: ValidationRule): ValidationRule {
  return (context) =>
    rule(
      Object.create(context, {
        reportError: { value: (error: GraphQLError) => context.reportError(withoutLiterals(error)) },
      }) as ValidationContext,
    );
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

/** A validation rule: refuses a document with more than `limit` aliased fields, in its fragments too. */
export function maxAliases(limit: number) {
  return (context: ValidationContext): ASTVisitor => {
    let aliases = 0;
    return {
      Field(field) {
        if (field.alias) aliases += 1;
      },
      Document: {
        leave(document) {
          if (aliases > limit) {
            context.reportError(
              new GraphQLError(`the query has ${aliases} aliases; at most ${limit} are allowed`, {
                nodes: [document],
                extensions: { code: 'TOO_MANY_ALIASES' },
              }),
            );
          }
        },
      },
    };
  };
}

/**
 * A validation rule: refuses a mutation with more than `limit` root fields, fragments followed. Fields that share a
 * response name run once, so they count once.
 */
export function maxRootMutationFields(limit: number) {
  return (context: ValidationContext): ASTVisitor => {
    const rootFields = (selectionSet: SelectionSetNode, names: Set<string>, seen: Set<string>): Set<string> => {
      for (const selection of selectionSet.selections) {
        if (selection.kind === Kind.FIELD) names.add((selection.alias ?? selection.name).value);
        else if (selection.kind === Kind.INLINE_FRAGMENT) rootFields(selection.selectionSet, names, seen);
        else if (!seen.has(selection.name.value)) {
          seen.add(selection.name.value);
          const fragment = context.getFragment(selection.name.value);
          if (fragment) rootFields(fragment.selectionSet, names, seen);
        }
      }
      return names;
    };
    return {
      OperationDefinition(operation) {
        if (operation.operation !== OperationTypeNode.MUTATION) return;
        const count = rootFields(operation.selectionSet, new Set(), new Set()).size;
        if (count > limit) {
          context.reportError(
            new GraphQLError(`the mutation has ${count} root fields; at most ${limit} per request`, {
              nodes: [operation],
              extensions: { code: 'TOO_MANY_MUTATIONS' },
            }),
          );
        }
      },
    };
  };
}
