import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
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

const traceIdOf = (traceparent: string | null | undefined) => traceparent?.split('-')[1];

/** An attribute of every element `locator` finds, in their order. */
const attributes = async (locator: Locator, name: string) =>
  Promise.all((await locator.all()).map(async (found) => (await found.getAttribute(name)) ?? ''));

/** The services of the waterfall's rows, in their order. */
const rowServices = (page: Page) => attributes(page.locator('#waterfall tr[data-service]'), 'data-service');

describe('the storefront, in a real browser (Chromium)', () => {
  const env = useStack('storefront', {
    serviceEnv: {
      inventory: { INITIAL_STOCK: String(INITIAL_STOCK) },
      // The teaching toggles: offered by eshop's page, played by billing.
      eshop: { FAULT_INJECTION_HEADER: 'enabled', JAEGER_UI_URL },
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
    for (const fault of faults) await page.getByRole('checkbox', { name: fault }).check();
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
      'the waterfall to show all six services',
      () => rowServices(page),
      (shown) => SERVICES.every((service) => shown.includes(service)),
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

  it('places an order by typing and clicking, then shows its journey and whole trace until the e-mail is sent', async () => {
    const watched = await browser.newPage();
    const { page } = watched;
    const { response, clickedAt, placed } = await placeGoodOrder(
      watched,
      { 'Green tea, 100 bags': 3 },
      'ada@example.com',
    );
    assert.equal(
      traceIdOf(await response.request().headerValue('traceparent')),
      placed.traceId,
      'the checkout continues the trace the page started',
    );

    const emailShownAt = await assertJourneyComplete(page, placed);
    console.log(`# "E-mail sent" shown ${emailShownAt - clickedAt} ms after the order was placed`);

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

    // The page's own requests started traces of their own: none joined the order's.
    const polls = watched.requests.filter((url) => url.includes('/api/orders/'));
    assert.ok(polls.length >= 2, `the page asked for the order ${polls.length} times`);
    const spans = await traceWithSpans(env.jaeger, placed.traceId, 11);
    assert.deepEqual(
      spans.filter((span) => span.name.includes('/api/')).map((span) => span.name),
      [],
      "no request of the page's is in the order's trace",
    );

    await page.reload();
    await assertJourneyComplete(page, placed);
    assert.deepEqual(watched.consoleErrors, []);
    watched.assertStayedLocal();
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

  it("sends each of the page's requests with a traceparent of a new trace", async () => {
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

  it('shows why an order is refused, and keeps what was typed', async () => {
    const watched = await browser.newPage();
    const { page } = watched;
    const { response } = await placeOrder(watched, { 'Hand grinder': INITIAL_STOCK + 1 }, 'ada@example.com');
    assert.equal(response.status(), 409);
    const problem = page.getByRole('alert');
    await problem.getByText('Out of stock').waitFor();
    assert.match((await problem.textContent()) ?? '', /not enough units in stock/);
    assert.equal(await page.getByLabel('Quantity of Hand grinder').inputValue(), String(INITIAL_STOCK + 1));
    assert.equal(await page.getByLabel('E-mail', { exact: true }).inputValue(), 'ada@example.com');
    assert.equal(new URL(page.url()).pathname, '/');

    await page.getByLabel('E-mail', { exact: true }).fill('not an e-mail');
    await page.getByLabel('Quantity of Hand grinder').fill('1');
    await page.getByRole('button', { name: 'Place order' }).click();
    await problem.getByText('Invalid request body').waitFor();
    assert.match((await problem.textContent()) ?? '', /email: /);
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
