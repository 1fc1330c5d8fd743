import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { promisify } from 'node:util';
import { SERVICES } from '@eshop/scripts';
import type { BenchReport } from '@eshop/scripts/bench-report';
import { REPO_ROOT } from '@eshop/scripts/paths';

const BACKLOG = 100;

/** Every number in the figures, by its path: `halfLoad.queueMs.p99`. */
function numbers(figures: object, prefix = ''): [string, unknown][] {
  return Object.entries(figures).flatMap(([key, value]): [string, unknown][] =>
    value !== null && typeof value === 'object'
      ? numbers(value as object, `${prefix}${key}.`)
      : [[prefix + key, value]],
  );
}

// `pnpm bench` itself takes minutes and does not run here: this is it in miniature, so that it cannot rot.
it('pnpm bench, in miniature, writes every figure for every mode and the latency plot', async () => {
  const out = join(await mkdtemp(join(tmpdir(), 'bench-smoke-')), 'bench.json');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--disable-warning=TimeoutNegativeWarning', join(REPO_ROOT, 'scripts', 'dist', 'src', 'cli', 'bench.js')],
    {
      env: {
        ...process.env,
        BENCH_SECONDS: '2',
        BENCH_SUSTAINED_SECONDS: '3',
        BENCH_WARM_UP_SECONDS: '2',
        BENCH_BACKLOG: String(BACKLOG),
        BENCH_OUT: out,
      },
      timeout: 300_000,
    },
  );
  assert.match(stdout, /\| checkouts\/s at saturation/);

  const report = JSON.parse(await readFile(out, 'utf8')) as BenchReport;
  for (const mode of ['untraced', 'grpc', 'http'] as const) {
    const figures = report[mode];
    const { spans, ...measured } = figures;
    for (const [path, value] of numbers(measured)) {
      assert.ok(Number.isFinite(value), `${mode}.${path} is ${String(value)}`);
    }
    const { halfLoad, drain, idleCpuMsPerSecond } = figures;
    for (const cpu of [halfLoad.cpuMsPerCheckout, idleCpuMsPerSecond]) {
      assert.deepEqual(
        Object.keys(cpu).sort(),
        [...SERVICES, 'services', 'kafka', 'jaeger'].sort(),
        `${mode}: CPU time of every process`,
      );
    }
    // kafka-consumer handles each event at least once, and says so in its log: each checkout has its queue time.
    assert.ok(halfLoad.queueMs.count >= halfLoad.checkouts, `${mode}: ${halfLoad.queueMs.count} queue times`);
    assert.ok(halfLoad.checkouts > 0 && halfLoad.failed === 0, `${mode}: half load ${JSON.stringify(halfLoad)}`);
    assert.equal(drain.messages, BACKLOG);
    assert.equal(drain.emailsMissing, 0);
    if (mode !== 'untraced') {
      // The sustained phase's traces, each checkout's whole: no span is dropped at saturation, over either protocol.
      assert.ok(spans && spans.traces === figures.sustained.checkouts, `spans ${JSON.stringify(spans)}`);
      assert.equal(spans.incompleteTraces, 0, `${mode}: spans ${JSON.stringify(spans)}`);
      assert.ok(numbers(spans).every(([, value]) => Number.isInteger(value)));
    } else assert.equal(spans, null, 'no spans are counted untraced');
  }

  const png = await readFile(out.replace(/\.json$/, '.png'));
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
});
