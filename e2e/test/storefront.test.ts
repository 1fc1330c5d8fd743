import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { SERVICES } from '@eshop/scripts';
import type { Locator, Page } from 'playwright-core';
import { useBrowser, type WatchedPage } from '../src/browser';
import { poll, traceWithSpans, useStack, type PlacedOrder } from '../src/fixture';

/** How long an order may take from the click to "E-mail sent" on its page. */
const EMAIL_DEADLINE_MS = 30_000;
/** Where the page is told Jaeger's web UI is (natively there is none: the links are checked, never followed). */
const JAEGER_UI_URL = 'http://localhost:16686';
/** Little stock, so that an order can ask for more than there is. */
const INITIAL_STOCK = 50;

/** The page's own service in the traces. */
const STOREFRONT = 'storefront';

const traceIdOf = (traceparent: string | null | undefined) => traceparent?.split('-')[1];
const parentIdOf = (traceparent: string | null | undefined) => traceparent?.split('-')[2];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** An attribute of every element `locator` finds, in their order. */
const attributes = async (locator: Locator, name: string) =>
  Promise.all((await locator.all()).map(async (found) => (await found.getAttribute(name)) ?? ''));

/** The services of the waterfall's rows, in their order. */
const rowServices = (page: Page) => attributes(page.locator('#waterfall tr[data-service]'), 'data-service');

/** The resource attributes Jaeger keeps for the storefront's spans in a trace, beyond the SDK's own. */
async function storefrontResource(jaegerQueryUrl: string, traceId: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${jaegerQueryUrl}/api/traces/${traceId}`);
  const body = (await response.json()) as {
    data: { processes: Record<string, { serviceName: string; tags: { key: string; value: unknown }[] }> }[];
  };
  const process = Object.values(body.data[0].processes).find(({ serviceName }) => serviceName === STOREFRONT);
  assert.ok(process, 'the storefront in the trace');
  return Object.fromEntries(
    process.tags.filter(({ key }) => !key.startsWith('telemetry.sdk.')).map(({ key, value }) => [key, value]),
  );
}

describe('the storefront, in a real browser (Chromium)', () => {
  const env = useStack('storefront', {
    serviceEnv: {
      inventory: { INITIAL_STOCK: String(INITIAL_STOCK) },
      // The teaching toggles: offered by eshop's page, played by billing.
      // One browser at a time here, but test after test: the per-client budget of span exports is tested on its own
      // (services/eshop/test/browser-spans.test.ts).
      eshop: { FAULT_INJECTION_HEADER: 'enabled', JAEGER_UI_URL, BROWSER_SPANS_PER_MINUTE: '1000' },
      billing: { FAULT_INJECTION_HEADER: 'enabled' },
    },
  });
  const browser = useBrowser();

  /**
   * Fills the form on `/` as a person would, clicks "Place order" and returns /checkout's answer (its body is gone
   * once the page has moved on to the order's page, its headers are not).
   */
  async function placeOrder(
    watched: WatchedPage,
    quantities: Record<string, number>,
    email: string,
    faults: string[] = [],
  ) {
    const { page } = watched;
    await page.goto(`${env.stack.url('eshop')}/`);
    // The catalog is in (and the button enabled with it); the form opens with one unit of the first product chosen.
    await page.getByLabel('Quantity of Hand grinder').waitFor();
    for (const fault of faults) await page.getByRole('checkbox', { name: fault }).check();
    for (const input of await page.locator('input[data-sku]').all()) await input.fill('0');
    for (const [product, quantity] of Object.entries(quantities)) {
      await page.getByLabel(`Quantity of ${product}`).fill(String(quantity));
    }
    await page.getByLabel('E-mail', { exact: true }).fill(email);
    const answer = page.waitForResponse((r) => r.url().endsWith('/checkout') && r.request().method() === 'POST');
    const clickedAt = Date.now();
    await page.getByRole('button', { name: 'Place order' }).click();
    return { response: await answer, clickedAt };
  }

  /** Places an order that succeeds, and waits for its page: its order id, and the trace id /checkout returned. */
  async function placeGoodOrder(watched: WatchedPage, quantities: Record<string, number>, email: string) {
    const { response, clickedAt } = await placeOrder(watched, quantities, email);
    assert.equal(response.status(), 201);
    // The trace id of the checkout's answer, as its `traceresponse` header (W3C Trace Context Level 2) says it.
    const traceId = traceIdOf(await response.headerValue('traceresponse'));
    assert.ok(traceId);
    await watched.page.waitForURL(/\/orders\/[0-9a-f-]{36}$/);
    const orderId = new URL(watched.page.url()).pathname.split('/')[2];
    return { response, clickedAt, placed: { orderId, traceId } };
  }

  /** Waits until the order's page shows the e-mail sent and every span it expects, and stops polling. */
  async function assertJourneyComplete(page: Page, placed: Pick<PlacedOrder, 'traceId'>): Promise<number> {
    await page.locator('li[data-step="email"][data-state="done"]').waitFor({ timeout: EMAIL_DEADLINE_MS });
    const emailShownAt = Date.now();
    await poll(
      'the waterfall to show the storefront and all six services',
      () => rowServices(page),
      (shown) => [STOREFRONT, ...SERVICES].every((service) => shown.includes(service)),
    );
    assert.equal(await page.locator('#trace-id').textContent(), placed.traceId);
    assert.equal(await page.locator('#trace-id a').getAttribute('href'), `${JAEGER_UI_URL}/trace/${placed.traceId}`);
    for (const step of ['reserved', 'paid', 'delivery', 'published', 'consumed', 'email']) {
      assert.equal(await page.locator(`li[data-step="${step}"]`).getAttribute('data-state'), 'done', step);
    }
    assert.match((await page.locator('li[data-step="consumed"]').textContent()) ?? '', /waiting \d+ ms in Kafka/);
    await poll(
      'the page to stop updating',
      () => page.locator('#polling').textContent(),
      (text) => /no longer updates/.test(text ?? ''),
    );
    return emailShownAt;
  }

  it('starts the trace at the click on "Place order", and shows the journey, the whole trace and the wait until the e-mail is sent', async () => {
    const watched = await browser.newPage();
    const { page } = watched;
    const polls: string[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname.startsWith('/api/orders/')) polls.push(request.headers().traceparent ?? '');
    });
    const { response, clickedAt, placed } = await placeGoodOrder(
      watched,
      { 'Green tea, 100 bags': 3 },
      'ada@example.com',
    );
    const traceparent = await response.request().headerValue('traceparent');
    assert.equal(traceIdOf(traceparent), placed.traceId, "the checkout continues the click's trace");
    assert.match((await response.request().headerValue('idempotency-key')) ?? '', UUID);

    const emailShownAt = await assertJourneyComplete(page, placed);
    console.log(`# "E-mail sent" shown ${emailShownAt - clickedAt} ms after the order was placed`);

    // In Jaeger: the click is the only root; the fetch under it; eshop's server span under the fetch.
    const spans = await traceWithSpans(env.jaeger, placed.traceId, 13);
    const ids = new Set(spans.map((span) => span.spanId));
    const roots = spans.filter((span) => span.parentSpanId === undefined);
    assert.deepEqual(
      roots.map((span) => `${span.service} ${span.name}`),
      [`${STOREFRONT} click Place order`],
      'one root: the click',
    );
    assert.deepEqual(
      spans.filter((span) => span.parentSpanId !== undefined && !ids.has(span.parentSpanId)).map((span) => span.name),
      [],
      'no span with a missing parent',
    );
    const fetchSpan = spans.find((span) => span.service === STOREFRONT && span.kind === 'client');
    assert.ok(fetchSpan, 'the fetch span');
    assert.equal(fetchSpan.parentSpanId, roots[0].spanId);
    assert.match(String(fetchSpan.attributes['url.full']), /\/checkout$/);
    assert.equal(parentIdOf(traceparent), fetchSpan.spanId, 'the request carries the fetch span as its parent');
    const server = spans.find((span) => span.service === 'eshop' && span.kind === 'server');
    assert.equal(server?.name, 'POST /checkout');
    assert.equal(server.parentSpanId, fetchSpan.spanId);
    assert.deepEqual(new Set(spans.map((span) => span.service)), new Set([STOREFRONT, ...SERVICES]));
    const resource = await storefrontResource(env.jaeger.baseUrl, placed.traceId);
    assert.equal(resource['user_agent.original'], await page.evaluate(() => navigator.userAgent));
    assert.equal(resource['browser.language'], await page.evaluate(() => navigator.language));

    // On the page: the click's span first in the waterfall, and the shopper's wait as this browser timed it.
    assert.equal((await rowServices(page))[0], STOREFRONT);
    assert.match((await page.locator('#click-to-answer').textContent()) ?? '', /^\d+ ms$/);
    assert.match((await page.locator('#click-to-email').textContent()) ?? '', /^\d+ ms$/);

    // The Kafka hop: eshop's producer span, and under it kafka-consumer's consumer span with its wait.
    const producer = page.locator('#waterfall tr[data-kind="producer"]');
    const consumer = page.locator('#waterfall tr[data-kind="consumer"]');
    assert.match((await producer.textContent()) ?? '', /eshop\s*└ send orders \(topic orders\)/);
    assert.match((await consumer.textContent()) ?? '', /kafka-consumer\s*└ process orders \(waited \d+ ms in Kafka/);
    assert.ok(
      Number(await consumer.getAttribute('data-depth')) > Number(await producer.getAttribute('data-depth')),
      'the consumer row is indented under the producer row',
    );
    await browser.screenshot(page, 'storefront-order.png');
    const search = new URL(
      (await page.getByRole('link', { name: 'Find by order id in Jaeger' }).getAttribute('href'))!,
    );
    assert.equal(`${search.origin}${search.pathname}`, `${JAEGER_UI_URL}/search`);
    assert.deepEqual(JSON.parse(search.searchParams.get('tags')!), { 'eshop.order.id': placed.orderId });

    // The page's polls are traces of their own, the browser's span at their root: none joined the order's.
    assert.ok(polls.length >= 2, `the page asked for the order ${polls.length} times`);
    assert.ok(!polls.map(traceIdOf).includes(placed.traceId));
    assert.deepEqual(
      spans
        .filter((span) => /\/api\//.test(`${span.name} ${String(span.attributes['url.full'] ?? '')}`))
        .map((s) => s.name),
      [],
      "no request of the page's is in the order's trace",
    );
    const pollTrace = await poll(
      "a poll's own trace",
      () => env.jaeger.trace(traceIdOf(polls[0])!),
      // eshop and the browser export on their own schedules: wait for both halves of the trace.
      (found) =>
        found.some((span) => span.service === 'eshop' && span.kind === 'server') &&
        found.some((span) => span.service === STOREFRONT),
    );
    assert.deepEqual(
      pollTrace.filter((span) => span.parentSpanId === undefined).map((span) => `${span.service} ${span.kind}`),
      [`${STOREFRONT} client`],
    );

    await page.reload();
    await assertJourneyComplete(page, placed);
    assert.match((await page.locator('#click-to-email').textContent()) ?? '', /^\d+ ms$/, 'kept across a reload');
    assert.deepEqual(watched.consoleErrors, [], 'no console error, no CSP violation');
    watched.assertStayedLocal();
  });

  it('places an order from a freshly opened page with nothing but an e-mail typed', async () => {
    const watched = await browser.newPage();
    const { page } = watched;
    await page.goto(`${env.stack.url('eshop')}/`);
    await page.getByLabel('E-mail', { exact: true }).fill('grace@example.com');
    const answer = page.waitForResponse((r) => r.url().endsWith('/checkout') && r.request().method() === 'POST');
    await page.getByRole('button', { name: 'Place order' }).click();
    assert.equal((await answer).status(), 201);
    await page.waitForURL(/\/orders\/[0-9a-f-]{36}$/);
    await poll(
      'the order page to show its items',
      () => page.locator('#items').textContent(),
      (items) => items === '1 × SKU-1',
    );
    assert.deepEqual(watched.consoleErrors, []);
    watched.assertStayedLocal();
  });

  it('sends its security headers, and cannot be framed', async () => {
    const watched = await browser.newPage();
    const { page } = watched;
    const home = await page.goto(`${env.stack.url('eshop')}/`);
    const headers = home!.headers();
    assert.match(headers['content-security-policy'] ?? '', /script-src 'self'/);
    assert.match(headers['content-security-policy'] ?? '', /style-src 'self'/);
    assert.doesNotMatch(headers['content-security-policy'] ?? '', /unsafe-inline|unsafe-eval/);
    assert.equal(headers['x-content-type-options'], 'nosniff');
    assert.equal(headers['referrer-policy'], 'no-referrer');

    // A page of another origin (about:blank here) that frames the storefront.
    const framing = await browser.newPage();
    await framing.page.setContent(`<iframe src="${env.stack.url('eshop')}/"></iframe>`);
    await poll(
      'Chromium to refuse the frame',
      () => framing.consoleErrors,
      (errors) => errors.some((error) => /frame-ancestors 'none'/.test(error)),
    );
    assert.deepEqual(watched.consoleErrors, []);
  });

  it('takes only OTLP at POST /v1/traces, bounded, and passes nothing it refuses on to Jaeger', async () => {
    const exportRequest = (traceId: string, resource: Record<string, string>, padding = '') => ({
      resourceSpans: [
        {
          resource: {
            attributes: Object.entries(resource).map(([key, value]) => ({ key, value: { stringValue: value } })),
          },
          scopeSpans: [
            {
              scope: { name: 'e2e' },
              spans: [
                {
                  traceId,
                  spanId: randomBytes(8).toString('hex'),
                  name: 'sent by hand',
                  kind: 1,
                  startTimeUnixNano: String(BigInt(Date.now()) * 1_000_000n),
                  endTimeUnixNano: String(BigInt(Date.now() + 1) * 1_000_000n),
                  attributes: padding ? [{ key: 'padding', value: { stringValue: padding } }] : [],
                },
              ],
            },
          ],
        },
      ],
    });
    const post = (body: string, contentType = 'application/json') =>
      fetch(`${env.stack.url('eshop')}/v1/traces`, { method: 'POST', headers: { 'content-type': contentType }, body });
    const newTraceId = () => randomBytes(16).toString('hex');
    const browserResource = { 'service.name': STOREFRONT };

    const refused: { what: string; traceId: string; body: string; status: number }[] = [];
    const refuse = (what: string, status: number, make: (traceId: string) => string) => {
      const traceId = newTraceId();
      refused.push({ what, traceId, body: make(traceId), status });
    };
    refuse('malformed JSON', 400, (id) => JSON.stringify(exportRequest(id, browserResource)).slice(0, -3));
    refuse('not OTLP', 400, (id) =>
      JSON.stringify(exportRequest(id, browserResource)).replace('"kind":1', '"kind":"client"'),
    );
    refuse("a server's resource", 422, (id) => JSON.stringify(exportRequest(id, { 'service.name': 'billing' })));
    refuse('over 64 KiB', 413, (id) => JSON.stringify(exportRequest(id, browserResource, 'x'.repeat(70_000))));
    for (const { what, body, status } of refused) {
      const response = await post(body);
      assert.equal(response.status, status, what);
      assert.match(response.headers.get('content-type') ?? '', /problem\+json/, what);
    }

    // What is accepted reaches Jaeger, as the storefront; once it is there, what was refused before it is not.
    const accepted = newTraceId();
    assert.equal((await post(JSON.stringify(exportRequest(accepted, {})))).status, 200);
    const spans = await poll(
      'the accepted span in Jaeger',
      () => env.jaeger.trace(accepted),
      (found) => found.length > 0,
    );
    assert.deepEqual(
      spans.map((span) => `${span.service} ${span.name}`),
      [`${STOREFRONT} sent by hand`],
    );
    for (const { what, traceId } of refused) assert.deepEqual(await env.jaeger.trace(traceId), [], what);
  });

  it('ships the page, its scripts and its stylesheet from eshop, in under 100 KB', async () => {
    const watched = await browser.newPage();
    const { page } = watched;
    const shipped: Promise<[string, number]>[] = [];
    page.on('response', (response) => {
      if (['document', 'script', 'stylesheet'].includes(response.request().resourceType())) {
        shipped.push(response.body().then((body) => [response.url(), body.length]));
      }
    });
    await page.goto(`${env.stack.url('eshop')}/`);
    await page.getByLabel('Quantity of Hand grinder').waitFor();
    const files = await Promise.all(shipped);
    const total = files.reduce((sum, [, bytes]) => sum + bytes, 0);
    console.log(
      `# the page ships ${total} bytes: ${files.map(([url, bytes]) => `${new URL(url).pathname} ${bytes}`).join(', ')}`,
    );
    assert.ok(
      files.every(([url]) => url.startsWith(env.stack.url('eshop'))),
      'everything comes from eshop',
    );
    assert.ok(files.some(([url]) => url.endsWith('.js')) && files.some(([url]) => url.endsWith('.css')));
    assert.ok(total < 100_000, `${total} bytes`);
    assert.deepEqual(watched.consoleErrors, []);
    watched.assertStayedLocal();
  });

  it("sends each of the page's API requests with a traceparent of a new trace", async () => {
    const watched = await browser.newPage();
    const traceparents: string[] = [];
    watched.page.on('request', (request) => {
      const header = request.headers().traceparent;
      if (new URL(request.url()).pathname.startsWith('/api/')) traceparents.push(header ?? '(none)');
    });
    const { placed } = await placeGoodOrder(watched, { 'Stoneware mug': 1 }, 'grace@example.com');
    await assertJourneyComplete(watched.page, placed);
    for (const header of traceparents) assert.match(header, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const traceIds = traceparents.map(traceIdOf);
    assert.equal(new Set(traceIds).size, traceIds.length, 'one trace per request');
    assert.ok(!traceIds.includes(placed.traceId));
    assert.deepEqual(watched.consoleErrors, []);
    watched.assertStayedLocal();
  });

  it("says why an order is refused in the shopper's words, next to the field, and keeps what was typed", async () => {
    const watched = await browser.newPage();
    const { page } = watched;
    const { response } = await placeOrder(watched, { 'Hand grinder': INITIAL_STOCK + 1 }, 'ada@example.com');
    assert.equal(response.status(), 409);
    const grinder = page.getByLabel('Quantity of Hand grinder');
    await page.locator('#problem-SKU-4').getByText(`Only ${INITIAL_STOCK} left in stock.`).waitFor();
    assert.equal(await grinder.getAttribute('aria-invalid'), 'true');
    assert.match((await page.getByRole('alert').textContent()) ?? '', /Your order was not placed/);
    assert.equal(await grinder.inputValue(), String(INITIAL_STOCK + 1));
    assert.equal(await page.getByLabel('E-mail', { exact: true }).inputValue(), 'ada@example.com');
    assert.equal(new URL(page.url()).pathname, '/');

    await page.getByLabel('E-mail', { exact: true }).fill('not an e-mail');
    await grinder.fill('1');
    const second = page.waitForRequest((r) => r.url().endsWith('/checkout'));
    await page.getByRole('button', { name: 'Place order' }).click();
    const keys = [await response.request().headerValue('idempotency-key'), (await second).headers()['idempotency-key']];
    assert.ok(
      keys.every((key) => UUID.test(key ?? '')) && keys[0] !== keys[1],
      `one key per submission: ${keys.join(', ')}`,
    );
    await page.locator('#problem-email').getByText('Enter your e-mail address, like name@example.com.').waitFor();
    assert.equal(await page.locator('#problem-SKU-4').isHidden(), true, 'the stock note is gone');
    assert.equal(await grinder.getAttribute('aria-invalid'), null);
    assert.equal(await page.getByLabel('E-mail', { exact: true }).inputValue(), 'not an e-mail');
    await browser.screenshot(page, 'storefront-refused.png');

    // Chromium logs each answer of 400 or more itself; those two are the only errors.
    assert.deepEqual(
      watched.consoleErrors.map((error) => /status of (\d+)/.exec(error)?.[1] ?? error),
      ['409', '400'],
    );
    watched.assertStayedLocal();
  });

  it('offers the named faults, and sends the ticked ones with the order as x-fault', async () => {
    const watched = await browser.newPage();
    const { page } = watched;
    const { response } = await placeOrder(watched, { 'Stoneware mug': 1 }, 'ada@example.com', ['payment-declined']);
    assert.equal(await response.request().headerValue('x-fault'), 'payment-declined=100');
    assert.equal(response.status(), 402);
    const problem = page.getByRole('alert');
    await problem.getByText('Payment declined').waitFor();
    assert.match((await problem.textContent()) ?? '', /injected by the payment-declined fault/);
    assert.deepEqual(
      watched.consoleErrors.map((error) => /status of (\d+)/.exec(error)?.[1] ?? error),
      ['402'],
    );
    watched.assertStayedLocal();
  });

  it('says so for an order id it does not know, and for one that is not an order id', async () => {
    const watched = await browser.newPage();
    const { page } = watched;
    await page.goto(`${env.stack.url('eshop')}/orders/${randomUUID()}`);
    await page.getByRole('alert').getByText('Order not found').waitFor();
    await page.goto(`${env.stack.url('eshop')}/orders/not-an-order`);
    await page.getByRole('alert').getByText('Invalid order id').waitFor();
    assert.match((await page.locator('#polling').textContent()) ?? '', /no longer updates/);
    watched.assertStayedLocal();
  });

  it("follows the link to the consumer's own trace, in KAFKA_TRACE_MODE=link", async () => {
    await env.stack.stopService('kafka-consumer');
    await env.stack.startService('kafka-consumer', { KAFKA_TRACE_MODE: 'link' });
    try {
      const watched = await browser.newPage();
      const { page } = watched;
      const { placed } = await placeGoodOrder(watched, { 'Pour-over kettle': 1 }, 'ada@example.com');
      await assertJourneyComplete(page, placed);

      const traces = await attributes(page.locator('#waterfall tbody[data-trace-id]'), 'data-trace-id');
      assert.equal(traces.length, 2, `two traces: ${traces.join(', ')}`);
      assert.equal(traces[0], placed.traceId);
      const linked = page.locator(`#waterfall tbody[data-trace-id="${traces[1]}"]`);
      const producerSpanId = (await env.jaeger.trace(placed.traceId))?.find((span) => span.kind === 'producer')?.spanId;
      assert.ok(producerSpanId);
      assert.match(
        (await linked.locator('tr[data-kind="consumer"]').textContent()) ?? '',
        new RegExp(`links to span ${producerSpanId} of trace ${placed.traceId}`),
      );
      assert.ok((await linked.locator('tr[data-service="notification"]').count()) > 0);
      await browser.screenshot(page, 'storefront-order-link-mode.png');
      assert.deepEqual(watched.consoleErrors, []);
      watched.assertStayedLocal();
    } finally {
      await env.stack.stopService('kafka-consumer');
      await env.stack.startService('kafka-consumer');
    }
  });
});
