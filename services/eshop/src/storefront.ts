import { join } from 'node:path';
import { ORDER_ID_KEY } from '@eshop/events';
import { FAULT_NAMES, FAULTS } from '@eshop/faults';
import { HttpError, UpstreamError } from '@eshop/http';
import type { InventoryClient } from '@eshop/inventory/client';
import type { NotificationClient } from '@eshop/notification/client';
import express, { Router, type Request, type RequestHandler } from 'express';
import { z } from 'zod';
import type { OrderRecord } from './orders';
import type { OrderStatus, OrderTrace, OrderView, StorefrontConfig } from './storefront-api';
import type { TraceReader } from './traces';

/** The page and its stylesheet, as written; its scripts, as compiled from web/src (dist/web). */
const PAGES_DIR = join(__dirname, '..', '..', 'web');
const SCRIPTS_DIR = join(__dirname, '..', 'web');

export interface StorefrontDependencies {
  /** eshop's own record of the orders it accepted (`OrderRecords`). */
  orders: { order(orderId: string): OrderRecord | undefined };
  inventory: Pick<InventoryClient, 'catalog'>;
  notification: Pick<NotificationClient, 'emails'>;
  traces: TraceReader;
  /** JAEGER_UI_URL. */
  jaegerUiUrl?: string;
  /** ZIPKIN_UI_URL. */
  zipkinUiUrl?: string;
  /** Whether checkouts may ask for faults (FAULT_INJECTION_HEADER=enabled), and so the page offers them. */
  faultHeader: boolean;
}

/** eshop makes its order ids with randomUUID. */
const orderIdSchema = z.uuid();

/**
 * The storefront: `/` (the catalog and a checkout form), `/orders/<orderId>` (the order's journey and its
 * trace), their assets, and the JSON API the pages read. The pages post to `/checkout` as any client does.
 */
export function storefrontRoutes(deps: StorefrontDependencies): Router {
  const { orders, inventory, notification, traces } = deps;
  const routes = Router();
  routes.use(securityHeaders);
  // One page for both: its script shows the view the address asks for.
  routes.get(['/', '/orders/:orderId'], (_req, res) => res.sendFile(join(PAGES_DIR, 'index.html')));
  routes.use('/assets', express.static(join(PAGES_DIR, 'assets')), express.static(SCRIPTS_DIR));

  const config: StorefrontConfig = {
    ...(deps.jaegerUiUrl ? { jaegerUiUrl: deps.jaegerUiUrl } : {}),
    ...(deps.zipkinUiUrl ? { zipkinUiUrl: deps.zipkinUiUrl } : {}),
    ...(deps.faultHeader
      ? {
          faults: FAULT_NAMES.map((name) => {
            const { service, unit, perRequest, what } = FAULTS[name];
            return { name, service, unit, perRequest, what };
          }),
        }
      : {}),
  };
  routes.get('/api/config', (_req, res) => {
    res.json(config);
  });

  routes.get('/api/catalog', async (_req, res) => {
    res.json(await unavailableUnless(inventory.catalog()));
  });

  const orderOf = (req: Request): OrderRecord => {
    const orderId = orderIdSchema.safeParse(req.params.orderId);
    if (!orderId.success) {
      throw new HttpError(400, 'Invalid order id', {
        detail: 'an order id is a UUID, as POST /checkout answers it',
        errors: [{ field: 'orderId', reason: 'not a UUID' }],
      });
    }
    const order = orders.order(orderId.data);
    if (!order) throw new HttpError(404, 'Order not found', { detail: `no order ${orderId.data} was placed here` });
    return order;
  };

  routes.get('/api/orders/:orderId', async (req, res) => {
    const order = orderOf(req);
    const [email] = await unavailableUnless(notification.emails({ orderId: order.orderId }));
    const steps: { status: OrderStatus; at: string }[] = [{ status: 'accepted', at: order.placedAt }];
    if (order.publishedAt) steps.push({ status: 'published', at: order.publishedAt });
    if (email) steps.push({ status: 'e-mailed', at: email.sentAt });
    const view: OrderView = {
      orderId: order.orderId,
      traceId: order.traceId,
      status: steps[steps.length - 1].status,
      steps,
      items: order.items,
      total: order.total,
      currency: order.currency,
      ...(email ? { emailTraceId: email.traceId } : {}),
    };
    res.json(view);
  });

  routes.get('/api/orders/:orderId/trace', async (req, res) => {
    const order = orderOf(req);
    const spans = await traces.trace(order.traceId);
    // In link mode the consumer's side is a trace of its own, which links to the producer span: found by the
    // order id that the message's baggage puts on its spans.
    const consumed = spans.some((span) => span.kind === 'consumer');
    const published = spans.some((span) => span.kind === 'producer');
    const linked =
      published && !consumed
        ? (await traces.find('kafka-consumer', { [ORDER_ID_KEY]: order.orderId }, searchFrom(order))).filter(
            (span) => span.traceId !== order.traceId,
          )
        : [];
    const trace: OrderTrace = { traceId: order.traceId, spans: [...spans, ...linked] };
    res.json(trace);
  });
  return routes;
}

/**
 * Closed by default: the page runs only its own script and stylesheet (nothing inline), talks only to eshop, and
 * cannot be framed; no answer is read as another type than it says, and no address leaves with a link.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  // The page's empty icon is a data: URL, so the browser asks for no /favicon.ico.
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const securityHeaders: RequestHandler = (_req, res, next) => {
  res.set({
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  });
  next();
};

/** A minute before the order was placed: the consumer's clock may be another machine's. */
const searchFrom = (order: OrderRecord) => new Date(Date.parse(order.placedAt) - 60_000);

/** A service the page's API reads that does not answer makes the page's request a 503 worth repeating. */
async function unavailableUnless<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (!(error instanceof UpstreamError)) throw error;
    throw new HttpError(503, `${error.service} unavailable`, {
      detail: error.message,
      headers: { 'Retry-After': '2' },
      errorType: `${error.service}_${error.failure}`,
    });
  }
}
