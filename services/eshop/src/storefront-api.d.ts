// The JSON that eshop's storefront API answers: shared, as types only, by the server (src/storefront.ts) and the
// page's scripts (web/src/), which are compiled for the browser and cannot import server code.
import type { TraceSpan } from '@eshop/jaeger-query/span';

/** `GET /api/config`: what the page shows beside the API's answers. */
export interface StorefrontConfig {
  /** Jaeger's web UI (JAEGER_UI_URL), for links into it; absent where there is none. */
  jaegerUiUrl?: string;
  /** Zipkin's web UI (ZIPKIN_UI_URL), linked to where there is no Jaeger UI. */
  zipkinUiUrl?: string;
  /** The faults a checkout may ask for with `x-fault`; absent unless FAULT_INJECTION_HEADER=enabled. */
  faults?: FaultOption[];
}

export interface FaultOption {
  name: string;
  service: string;
  unit: 'percent' | 'ms';
  /** The setting `x-fault` gives the fault when it names none. */
  perRequest: number;
  what: string;
}

/** `GET /api/catalog`: inventory's catalog, as it is now. */
export type { CatalogEntry as Product } from '@eshop/inventory/client';

/**
 * What eshop knows of an order, in order: `accepted` (stock reserved, paid, delivery arranged, and the event
 * stored in the outbox), `published` (every in-sync replica of `orders` has the event), `e-mailed`
 * (notification's record of the e-mail).
 */
export type OrderStatus = 'accepted' | 'published' | 'e-mailed';

/** `GET /api/orders/<orderId>`. */
export interface OrderView {
  orderId: string;
  /** The checkout's trace. */
  traceId: string;
  status: OrderStatus;
  /** When each status was reached, oldest first. */
  steps: { status: OrderStatus; at: string }[];
  items: { sku: string; quantity: number }[];
  total: number;
  currency: string;
  /** The trace the e-mail was sent in: the checkout's own, unless the consumer starts traces of its own (`link`). */
  emailTraceId?: string;
}

/** `GET /api/orders/<orderId>/trace`. */
export interface OrderTrace {
  /** The checkout's trace. */
  traceId: string;
  /** Its spans, and those of the traces that link to it (KAFKA_TRACE_MODE=link); none while Jaeger has none. */
  spans: TraceSpan[];
}

/** One span as the page draws it, with only the attributes it explains: `eshop.*`, the topic, the HTTP status, `error.type`. */
export type { TraceSpan };
