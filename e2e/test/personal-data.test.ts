import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { useBrowser } from '../src/browser';
import {
  checkout,
  DeadLetters,
  emailsFor,
  kafkaOf,
  ORDER,
  ORDERS_TOPIC,
  poll,
  postJson,
  useStack,
  type Order,
} from '../src/fixture';

/** The tests' span export interval (the fixture's OTEL_BSP_SCHEDULE_DELAY) times three: long enough for a late span. */
const QUIET_MS = 600;

/** Every trace Jaeger keeps, as its API answers them: spans with their tags, events (`logs`) and processes' tags. */
async function allTraces(jaegerUrl: string): Promise<string[]> {
  const { data: services } = (await (await fetch(`${jaegerUrl}/api/services`)).json()) as { data: string[] };
  return Promise.all(
    services.map(async (service) => {
      const query = new URLSearchParams({ service, lookback: '1h', limit: '10000' });
      return (await fetch(`${jaegerUrl}/api/traces?${query.toString()}`)).text();
    }),
  );
}

describe('no personal data on any span or log line', () => {
  const env = useStack('personal-data');
  const browser = useBrowser();
  // Unique addresses, so that a match can only come from this test's own orders.
  const address = (how: string) => `${how}-${randomUUID().slice(0, 8)}@example.com`;
  const addresses: string[] = [];
  const orderOf = (how: string): Order => {
    const email = address(how);
    addresses.push(email);
    return { ...ORDER, email };
  };
  const graphql = (query: string, variables?: unknown) =>
    postJson(`${env.stack.url('eshop')}/graphql`, { query, variables });

  it('places orders over REST, GraphQL, Kafka and the storefront, malformed ones too, and finds no address in Jaeger or the logs', async () => {
    const placed: string[] = [];
    placed.push((await checkout(env.stack, orderOf('rest'))).orderId);
    assert.equal(
      (await postJson(`${env.stack.url('eshop')}/checkout`, { ...orderOf('rest-refused'), items: [] })).status,
      400,
    );

    const malformedJson = await fetch(`${env.stack.url('eshop')}/checkout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"email": "${orderOf('rest-malformed').email}", `,
    });
    assert.equal(malformedJson.status, 400);

    // Malformed events on the orders topic, which kafka-consumer and delivery dead-letter.
    const deadLetters = await DeadLetters.read(env.stack);
    const producer = kafkaOf(env.stack, 'e2e-personal-data').producer();
    await producer.connect();
    const malformed = [
      { key: randomUUID(), value: `not JSON: ${orderOf('kafka-not-json').email}` },
      { key: randomUUID(), value: JSON.stringify({ type: 'OrderPlaced', email: orderOf('kafka-invalid').email }) },
    ];
    await producer.send({ topic: ORDERS_TOPIC, messages: malformed });
    await producer.disconnect();
    for (const { key } of malformed) await deadLetters.ofOrder(key);
    await deadLetters.close();

    const placeOrder = 'mutation Place($input: OrderInput!) { placeOrder(input: $input) { orderId } }';
    const answer = await graphql(placeOrder, { input: orderOf('graphql') });
    placed.push((answer.body as { data: { placeOrder: { orderId: string } } }).data.placeOrder.orderId);
    // Malformed: a syntax error at the address, the address where an object goes, a variable missing a field.
    const refused = [
      await graphql(`{ order(id: "x") "${orderOf('graphql-syntax').email}" }`),
      await graphql(`mutation { placeOrder(input: "${orderOf('graphql-type').email}") { orderId } }`),
      await graphql(placeOrder, { input: { email: orderOf('graphql-variable').email } }),
    ];
    for (const response of refused) assert.ok((response.body as { errors?: unknown[] }).errors?.length);

    const { page } = await browser.newPage();
    await page.goto(env.stack.url('eshop'));
    await page.getByLabel('E-mail', { exact: true }).fill(orderOf('storefront').email);
    await page
      .getByLabel(/^Quantity of /)
      .first()
      .fill('1');
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/checkout'),
      page.getByRole('button', { name: 'Place order' }).click(),
    ]);
    assert.equal(response.status(), 201);
    // The page goes on to the order's own page, /orders/<orderId>.
    await page.waitForURL(/\/orders\/[^/]+$/);
    placed.push(new URL(page.url()).pathname.split('/')[2]);

    for (const orderId of placed) {
      await poll(
        `the e-mail of ${orderId}`,
        () => emailsFor(env.stack, orderId),
        (emails) => emails.length === 1,
      );
    }
    // Every span exported: Jaeger's traces stop changing once the last batch is in.
    let traces = await allTraces(env.jaeger.baseUrl);
    let quietSince = Date.now();
    const deadline = Date.now() + 30_000;
    while (Date.now() - quietSince < QUIET_MS && Date.now() < deadline) {
      await delay(QUIET_MS / 4);
      const again = await allTraces(env.jaeger.baseUrl);
      if (again.join().length !== traces.join().length) {
        traces = again;
        quietSince = Date.now();
      }
    }
    assert.ok(traces.join().includes(placed[0]), 'Jaeger has the orders placed');

    const logDir = dirname(env.stack.logFile('eshop'));
    const logs = await Promise.all(
      (await readdir(logDir))
        .filter((name) => name.endsWith('.log'))
        .map(async (name) => ({ name, text: await readFile(join(logDir, name), 'utf8') })),
    );
    assert.ok(
      logs.some((log) => log.name === 'eshop.log' && log.text.includes('"msg":"request"')),
      'logs read',
    );

    const leaks = addresses.flatMap((email) => [
      ...traces.filter((trace) => trace.includes(email)).map((trace) => `${email} in Jaeger: ${around(trace, email)}`),
      ...logs
        .filter((log) => log.text.includes(email))
        .map((log) => `${email} in ${log.name}: ${around(log.text, email)}`),
    ]);
    assert.deepEqual(leaks, []);
  });
});

/** The text around the first `needle` in `text`, to say where a leak is. */
function around(text: string, needle: string): string {
  const at = text.indexOf(needle);
  return text.slice(Math.max(0, at - 300), at + needle.length + 100);
}
