// `pnpm bench`: what tracing costs a checkout. The whole stack runs twice in one go, once traced and once with
// the OpenTelemetry SDK disabled (OTEL_SDK_DISABLED=true), under the same closed-loop load of POST /checkout on
// loopback. Absolute numbers depend on the machine; the ratios between the two runs are what to read.
import { join } from 'node:path';
import autocannon from 'autocannon';
import { CACHE_DIR } from '../paths';
import { SERVICES, Stack, type ServiceName } from '../stack';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const WARM_UP_SECONDS = 3;
const CONNECTIONS = 8;
const ORDER = JSON.stringify({ email: 'ada@example.com', items: [{ sku: 'SKU-1', quantity: 1 }] });

const say = (message: string) => console.log(`[bench] ${message}`);

interface Measurement {
  throughput: number;
  p50: number;
  p99: number;
  failed: number;
  total: number;
}

async function load(url: string, seconds: number): Promise<Measurement> {
  const result = await autocannon({
    url: `${url}/checkout`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: ORDER,
    connections: CONNECTIONS,
    duration: seconds,
  });
  return {
    throughput: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failed: result.non2xx + result.errors + result.timeouts,
    total: result.requests.total,
  };
}

async function measure(label: string, env: NodeJS.ProcessEnv): Promise<Measurement> {
  say(`${label}: starting the stack`);
  // Stock for any number of checkouts, so that none fails for want of it.
  const serviceEnv = Object.fromEntries(
    SERVICES.map((service) => [service, service === 'inventory' ? { ...env, INITIAL_STOCK: '100000000' } : env]),
  ) as Record<ServiceName, NodeJS.ProcessEnv>;
  const stack = await Stack.start({ output: 'files', runDir: join(CACHE_DIR, `bench-${label}`), serviceEnv });
  try {
    await load(stack.url('eshop'), WARM_UP_SECONDS);
    say(`${label}: ${SECONDS} s of checkouts from ${CONNECTIONS} connections`);
    return await load(stack.url('eshop'), SECONDS);
  } finally {
    await stack.stop();
  }
}

async function main(): Promise<number> {
  const traced = await measure('traced', {});
  const untraced = await measure('untraced', { OTEL_SDK_DISABLED: 'true' });
  const row = (name: string, a: number, b: number, unit: string) =>
    `${name.padEnd(22)}${`${a.toFixed(1)} ${unit}`.padStart(14)}${`${b.toFixed(1)} ${unit}`.padStart(14)}${(a / b).toFixed(2).padStart(10)}`;
  console.log(`\n${''.padEnd(22)}${'traced'.padStart(14)}${'untraced'.padStart(14)}${'ratio'.padStart(10)}`);
  console.log(row('checkouts per second', traced.throughput, untraced.throughput, '/s'));
  console.log(row('latency p50', traced.p50, untraced.p50, 'ms'));
  console.log(row('latency p99', traced.p99, untraced.p99, 'ms'));
  console.log(`\n${traced.total} and ${untraced.total} checkouts; ${traced.failed + untraced.failed} failed.`);
  return traced.failed + untraced.failed === 0 ? 0 : 1;
}

main().then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    console.error(`[bench] ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
