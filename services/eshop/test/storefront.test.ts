import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createServiceApp, listen, type RunningServer } from '@eshop/http';
import { createNotificationClient, type SentEmail } from '@eshop/notification/client';
import { assertProblem, send } from '@eshop/testing';
import type { OrderRecord } from '../src/orders';
import type { OrderView, StorefrontConfig } from '../src/storefront-api';
import { storefrontRoutes, type StorefrontDependencies } from '../src/storefront';
import { TraceReader } from '../src/traces';

const ORDER: OrderRecord = {
  orderId: randomUUID(),
  traceId: '0af7651916cd43dd8448eb211c80319c',
  items: [{ sku: 'SKU-1', quantity: 2 }],
  total: 49.8,
  currency: 'EUR',
  placedAt: '2026-01-01T10:00:00.000Z',
  publishedAt: '2026-01-01T10:00:00.050Z',
};

const EMAIL: SentEmail = {
  emailId: 'e-1',
  orderId: ORDER.orderId,
  traceId: ORDER.traceId,
  to: 'ada@example.com',
  subject: 'Your order',
  sentAt: '2026-01-01T10:00:00.200Z',
};

/** A port nothing listens on: a server's, once it has closed. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** A TCP server that takes connections and never answers: a Jaeger that hangs. */
async function silentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => sockets.add(socket)).listen(0);
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

async function serve(deps: Partial<StorefrontDependencies>, jaegerUrl: string): Promise<RunningServer> {
  const routes = storefrontRoutes({
    orders: { order: (orderId) => (orderId === ORDER.orderId ? ORDER : undefined) },
    inventory: { catalog: () => Promise.resolve([]) },
    notification: { emails: () => Promise.resolve([EMAIL]) },
    traces: new TraceReader(jaegerUrl, 500),
    faultHeader: false,
    ...deps,
  });
  return listen(createServiceApp({ routes }), 0);
}

describe('the storefront API', () => {
  let jaegerPort: number;
  let server: RunningServer;
  const url = () => `http://localhost:${server.port}`;
  before(async () => {
    jaegerPort = await closedPort();
    server = await serve({ jaegerUiUrl: 'http://jaeger.example:16686' }, `http://127.0.0.1:${jaegerPort}`);
  });
  after(() => server.close());

  for (const path of ['', '/trace']) {
    it(`answers 400 to an order id that is not a UUID (/api/orders/<id>${path})`, async () => {
      assertProblem(await send(url(), `/api/orders/not-an-order${path}`), 400, 'orderId');
    });

    it(`answers 404 to an order it never took (/api/orders/<id>${path})`, async () => {
      const response = await send(url(), `/api/orders/${randomUUID()}${path}`);
      assertProblem(response, 404);
      assert.equal((response.body as { title: string }).title, 'Order not found');
    });
  }

  it("tells an order's status and steps, and not its e-mail address", async () => {
    const response = await send(url(), `/api/orders/${ORDER.orderId}`);
    assert.equal(response.status, 200);
    const view = response.body as OrderView;
    assert.equal(view.status, 'e-mailed');
    assert.deepEqual(view.steps, [
      { status: 'accepted', at: ORDER.placedAt },
      { status: 'published', at: ORDER.publishedAt },
      { status: 'e-mailed', at: EMAIL.sentAt },
    ]);
    assert.equal(view.traceId, ORDER.traceId);
    assert.doesNotMatch(JSON.stringify(view), /ada@example\.com/);
  });

  it('answers 503 when Jaeger cannot be reached', async () => {
    const response = await send(url(), `/api/orders/${ORDER.orderId}/trace`);
    assertProblem(response, 503);
    assert.match((response.body as { detail: string }).detail, new RegExp(`127\\.0\\.0\\.1:${jaegerPort}`));
    assert.ok(response.headers.get('retry-after'));
  });

  it('answers 503 within its timeout when Jaeger takes the connection and never answers', async () => {
    const jaeger = await silentServer();
    const hanging = await serve({}, jaeger.url);
    try {
      const started = Date.now();
      const response = await send(`http://localhost:${hanging.port}`, `/api/orders/${ORDER.orderId}/trace`);
      assertProblem(response, 503);
      assert.match((response.body as { detail: string }).detail, /did not answer within 500 ms/);
      assert.ok(Date.now() - started < 2000, `answered after ${Date.now() - started} ms`);
    } finally {
      await hanging.close();
      await jaeger.close();
    }
  });

  it('answers 503 when notification cannot be reached', async () => {
    const notification = createNotificationClient(`http://127.0.0.1:${await closedPort()}`);
    const unreachable = await serve({ notification }, `http://127.0.0.1:${jaegerPort}`);
    try {
      const response = await send(`http://localhost:${unreachable.port}`, `/api/orders/${ORDER.orderId}`);
      assertProblem(response, 503);
      assert.equal((response.body as { title: string }).title, 'notification unavailable');
    } finally {
      await unreachable.close();
    }
  });

  it('offers the faults only where checkouts may ask for them, and links into Jaeger only where it has a UI', async () => {
    assert.deepEqual((await send(url(), '/api/config')).body, { jaegerUiUrl: 'http://jaeger.example:16686' });
    const teaching = await serve({ faultHeader: true }, `http://127.0.0.1:${jaegerPort}`);
    try {
      const config = (await send(`http://localhost:${teaching.port}`, '/api/config')).body as StorefrontConfig;
      assert.equal(config.jaegerUiUrl, undefined);
      assert.deepEqual(
        config.faults?.find((fault) => fault.name === 'payment-declined'),
        {
          name: 'payment-declined',
          service: 'billing',
          unit: 'percent',
          perRequest: 100,
          what: 'billing declines the payment (402)',
        },
      );
    } finally {
      await teaching.close();
    }
  });

  it("serves the page at / and at an order's address, and its compiled script", async () => {
    const home = await send(url(), '/');
    assert.equal(home.status, 200);
    assert.match(home.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(String(home.body), /Place order/);
    assert.equal((await send(url(), `/orders/${ORDER.orderId}`)).body, home.body);
    const script = await send(url(), '/assets/main.js');
    assert.equal(script.status, 200);
    assert.match(script.headers.get('content-type') ?? '', /javascript/);
  });

  it('sends its security headers with the page, its assets and its API: own script and styles only, never framed', async () => {
    for (const path of ['/', `/orders/${ORDER.orderId}`, '/assets/main.js', '/assets/storefront.css', '/api/config']) {
      const { headers } = await send(url(), path);
      const policy = new Map(
        (headers.get('content-security-policy') ?? '').split(';').map((directive) => {
          const [name, ...values] = directive.trim().split(/\s+/);
          return [name, values.join(' ')];
        }),
      );
      assert.equal(policy.get('default-src'), "'none'", path);
      assert.equal(policy.get('script-src'), "'self'", path);
      assert.equal(policy.get('style-src'), "'self'", path);
      assert.equal(policy.get('frame-ancestors'), "'none'", path);
      assert.equal(headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(headers.get('referrer-policy'), 'no-referrer', path);
    }
  });
});
