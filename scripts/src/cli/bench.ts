// `pnpm bench`: what tracing costs, and whether the Kafka hop keeps up. One run measures the stack untraced
// (OTEL_SDK_DISABLED=true), then traced, each on a fresh stack and under the same load, and writes the figures
// to BENCH_OUT (JSON) with a latency plot beside it (PNG). docs/benchmark.md says what each figure is.
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { measureMode, type BenchSettings } from '../bench/mode';
import { writeCdfPng } from '../bench/plot';
import { benchReport, table } from '../bench/report';

const say = (message: string) => console.log(`[bench] ${message}`);

function settingsFromEnv(): BenchSettings {
  const seconds = Number(process.env.BENCH_SECONDS ?? 15);
  return {
    seconds,
    warmUpSeconds: Math.min(3, seconds),
    idleSeconds: Math.min(5, seconds),
    connections: Number(process.env.BENCH_CONNECTIONS ?? 8),
    backlog: Number(process.env.BENCH_BACKLOG ?? 3000),
  };
}

async function main(): Promise<number> {
  const settings = settingsFromEnv();
  const out = resolve(process.env.BENCH_OUT ?? 'bench-results.json');
  // The untraced mode first: its saturation sets the half-load rate both modes are measured at.
  let halfLoadRate = 0;
  const untraced = await measureMode(
    'untraced',
    settings,
    (checkoutsPerSecond) => (halfLoadRate = Math.max(1, Math.round(checkoutsPerSecond / 2))),
    say,
  );
  const traced = await measureMode('traced', settings, () => halfLoadRate, say);

  const report = benchReport(settings, halfLoadRate, untraced.figures, traced.figures);
  await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
  const png = out.replace(/(\.json)?$/, '.png');
  await writeCdfPng(
    png,
    `${report.date.slice(0, 10)}, ${report.machine.cpus} cores, open loop at ${halfLoadRate} checkouts/s`,
    [
      { name: 'untraced', valuesMs: untraced.latenciesMs },
      { name: 'traced', valuesMs: traced.latenciesMs },
    ],
    [
      { name: 'untraced', valuesMs: untraced.queueMs },
      { name: 'traced', valuesMs: traced.queueMs },
    ],
  );
  console.log(`\n${table(report)}\n`);
  say(`wrote ${out} and ${png}`);

  const failed = [untraced.figures, traced.figures].reduce(
    (sum, m) => sum + m.saturation.failed + m.halfLoad.failed + m.drain.emailsMissing,
    0,
  );
  if (failed > 0) say(`${failed} checkouts failed or e-mails are missing: the figures are not to be trusted`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    console.error(`[bench] ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
