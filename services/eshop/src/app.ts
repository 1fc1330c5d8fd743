import { context, trace } from '@opentelemetry/api';
import {
  FAULT_HEADER,
  FAULT_REQUEST_KEY,
  formatFaultRequest,
  parseFaultRequest,
  withFaultRequest,
} from '@eshop/faults';
import { createServiceApp, fieldProblems, HttpError, validateBody } from '@eshop/http';
import { logger } from '@eshop/logger';
import { Router, type RequestHandler } from 'express';
import { orderSchema, type Order } from './api';
import type { Checkout } from './checkout';
import { IDEMPOTENCY_KEY_HEADER, parseIdempotencyKey } from './idempotency';

export interface AppOptions {
  /** Whether a checkout may ask for faults with `x-fault` (FAULT_INJECTION_HEADER=enabled). */
  faultHeader?: boolean;
  /** The storefront's pages and their API (see storefrontRoutes). */
  storefront?: Router;
  /** `POST /graphql` (./graphql.ts): the same checkout, and the catalog and orders, over GraphQL. */
  graphql?: RequestHandler[];
  /** `POST /v1/traces` (./browser-spans.ts): the storefront page's spans, on their way to the trace backend. */
  browserSpans?: Router;
}

export function createApp(
  checkout: Checkout,
  { faultHeader = false, storefront, graphql, browserSpans }: AppOptions = {},
) {
  const routes = Router();
  const faults = acceptFaultHeader(faultHeader);
  routes.post('/checkout', faults, validateBody(orderSchema), async (req, res) => {
    const key = parseIdempotencyKey(req.get(IDEMPOTENCY_KEY_HEADER));
    res.status(201).json(await checkout.place(req.body as Order, key));
  });
  // A GET is safe: a reload or a prefetch must not place an order.
  routes.get('/checkout', () => {
    throw new HttpError(405, 'Method not allowed', {
      detail: 'GET /checkout places no order: POST the order as JSON',
      headers: { Allow: 'POST' },
    });
  });
  if (graphql) routes.post('/graphql', faults, ...graphql);
  if (storefront) routes.use(storefront);
  return createServiceApp({ routes, ownBodyRoutes: browserSpans });
}

/**
 * Turns `x-fault` into the `eshop.fault.requested` baggage entry that every call and the Kafka message carry,
 * when allowed. eshop is where requests come in: such an entry sent from outside never goes further.
 */
function acceptFaultHeader(allowed: boolean): RequestHandler {
  return (req, _res, next) => {
    const header = req.get(FAULT_HEADER);
    if (header !== undefined && !allowed) {
      logger.warn({ header: FAULT_HEADER }, `${FAULT_HEADER} ignored: FAULT_INJECTION_HEADER is not enabled`);
    }
    let request;
    if (header !== undefined && allowed) {
      const parsed = parseFaultRequest(header);
      if (!parsed.success) {
        const errors = fieldProblems(parsed.error, `headers.${FAULT_HEADER}`);
        throw new HttpError(400, 'Invalid x-fault header', {
          detail: 'name faults as in `x-fault: payment-declined, delivery-slow=3000`',
          errors,
        });
      }
      request = parsed.data;
      trace.getActiveSpan()?.setAttribute(FAULT_REQUEST_KEY, formatFaultRequest(request));
    }
    context.with(withFaultRequest(context.active(), request), next);
  };
}
