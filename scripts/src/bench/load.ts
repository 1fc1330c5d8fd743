import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import autocannon from 'autocannon';

const ORDER = JSON.stringify({ email: 'ada@example.com', items: [{ sku: 'SKU-1', quantity: 1 }] });
const HEADERS = { 'content-type': 'application/json' };

/** What a run of checkouts gave: every accepted checkout's order and trace, and every answer's latency. */
export interface Load {
  checkouts: number;
  failed: number;
  seconds: number;
  latenciesMs: number[];
  orderIds: string[];
  /** Empty when the stack runs untraced: then eshop sends no `traceresponse` header. */
  traceIds: string[];
}

interface Accepted {
  orderId: string;
  traceId?: string;
}

/** eshop's answer to an accepted checkout: the order from the body, the trace from the `traceresponse` header. */
function accepted(body: string, traceResponse: string | undefined): Accepted {
  const { orderId } = JSON.parse(body) as { orderId: string };
  // `00-<trace id>-<span id>-<flags>`
  return { orderId, traceId: traceResponse?.split('-')[1] };
}

function collect(started: number) {
  const load: Load = { checkouts: 0, failed: 0, seconds: 0, latenciesMs: [], orderIds: [], traceIds: [] };
  return {
    load,
    accept({ orderId, traceId }: Accepted, latencyMs: number) {
      load.checkouts++;
      load.latenciesMs.push(latencyMs);
      load.orderIds.push(orderId);
      if (traceId) load.traceIds.push(traceId);
    },
    done(): Load {
      load.seconds = (performance.now() - started) / 1000;
      return load;
    },
  };
}

/**
 * A closed loop: `connections` clients, each placing its next checkout as soon as the last one is answered, for
 * `seconds` or until `amount` checkouts are placed. It finds the stack's saturation throughput.
 */
export async function closedLoop(
  url: string,
  { connections, seconds, amount }: { connections: number; seconds?: number; amount?: number },
): Promise<Load> {
  const run = collect(performance.now());
  // autocannon hands a request's body and headers to `onResponse`, then, right after, its latency to the
  // `response` event: the first is held until the second.
  const answers: (Accepted | undefined)[] = [];
  const options: autocannon.Options = {
    url: `${url}/checkout`,
    connections,
    ...(amount === undefined ? { duration: seconds } : { amount }),
    requests: [
      {
        method: 'POST',
        headers: HEADERS,
        body: ORDER,
        onResponse: (status, body, _context, headers) => {
          const traceResponse = headers?.traceresponse;
          answers.push(
            status === 201 ? accepted(body, typeof traceResponse === 'string' ? traceResponse : undefined) : undefined,
          );
        },
      },
    ],
  };
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (error, finished) =>
      error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(finished),
    );
    instance.on('response', (_client, _status, _bytes, latencyMs) => {
      const answer = answers.shift();
      if (answer) run.accept(answer, latencyMs);
      else run.load.failed++;
    });
  });
  run.load.failed += result.errors + result.timeouts;
  return run.done();
}

/**
 * An open loop: checkout i is sent at `i / rate` seconds, whether the ones before it are answered or not, and its
 * latency counts from then. autocannon's own fixed rate (`overallRate`) is not used here: it sends each second's
 * requests in a burst at the start of the second, so its latencies are those of a short saturation.
 */
export async function openLoop(url: string, { rate, amount }: { rate: number; amount: number }): Promise<Load> {
  const started = performance.now();
  const run = collect(started);
  const place = async (due: number) => {
    try {
      const response = await fetch(`${url}/checkout`, { method: 'POST', headers: HEADERS, body: ORDER });
      const body = await response.text();
      if (response.status === 201) {
        run.accept(accepted(body, response.headers.get('traceresponse') ?? undefined), performance.now() - due);
      } else run.load.failed++;
    } catch {
      run.load.failed++;
    }
  };
  const placed: Promise<void>[] = [];
  for (let i = 0; i < amount; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await delay(wait);
    placed.push(place(due));
  }
  await Promise.all(placed);
  return run.done();
}
