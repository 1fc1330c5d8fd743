/**
 * Every HTTP call the system makes, by caller, callee, method and the callee's route (express syntax, as its server
 * span names it). One table for three checks: the deploy tests hold the clients (`services/<callee>/src/client.ts`)
 * and the mesh's AuthorizationPolicies to it, and the e2e tests hold the traces to it. A call missing here is
 * denied in the cluster; add it here, then to the policies.
 */

/** Istio's ingress gateway: where a browser's or a client's request comes in. */
export const INGRESS_GATEWAY = 'istio-ingressgateway';

export interface Call {
  from: string;
  to: string;
  method: 'GET' | 'POST';
  route: string;
}

/** By caller, then callee: each request as the callee's server span names it. */
const REQUESTS: Record<string, Record<string, string[]>> = {
  // The checkout, its undo steps, and the catalog and orders that GraphQL and the storefront read; the storefront's
  // order page reads the order's trace from Jaeger's query API.
  eshop: {
    inventory: ['POST /createOrder', 'POST /releaseOrder', 'GET /catalog'],
    billing: ['POST /payment', 'POST /refund', 'GET /payment/:orderId'],
    delivery: ['POST /arrangeDelivery', 'POST /cancelDelivery', 'GET /deliveries/:orderId'],
    notification: ['GET /emails'],
    jaeger: ['GET /api/traces', 'GET /api/traces/:traceId'],
  },
  'kafka-consumer': { notification: ['POST /sendEmail'] },
  // From outside: the checkout over REST and GraphQL, the storefront's page, its assets, its API and its spans.
  [INGRESS_GATEWAY]: {
    eshop: [
      'POST /checkout',
      'POST /graphql',
      'POST /v1/traces',
      'GET /',
      'GET /orders/:orderId',
      'GET /assets/*',
      'GET /api/config',
      'GET /api/catalog',
      'GET /api/orders/:orderId',
      'GET /api/orders/:orderId/trace',
    ],
  },
};

export const CALLS: readonly Call[] = Object.entries(REQUESTS).flatMap(([from, callees]) =>
  Object.entries(callees).flatMap(([to, requests]) =>
    requests.map((request) => {
      const [method, route] = request.split(' ') as [Call['method'], string];
      return { from, to, method, route };
    }),
  ),
);

/** Whether `path` (no query) is one of `route`'s: a `:param` takes one segment, a trailing `*` the rest. */
export function routeMatches(route: string, path: string): boolean {
  const pattern = route
    .split('/')
    .map((segment) => (segment === '*' ? '.*' : segment.startsWith(':') ? '[^/]+' : escape(segment)))
    .join('/');
  return new RegExp(`^${pattern}$`).test(path);
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
