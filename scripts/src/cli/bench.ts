// `pnpm bench`: what tracing costs, and whether the Kafka hop keeps up. One run measures the stack untraced
// (OTEL_SDK_DISABLED=true), then traced, each on a fresh stack and under the same load, and writes the figures
// to BENCH_OUT (JSON) with a latency plot beside it (PNG). docs/benchmark.md says what each figure is.
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { measureMode, type BenchSettings, type ModeResult } from '../bench/mode';
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
  const runs = Number(process.env.BENCH_RUNS ?? 1);
  const out = resolve(process.env.BENCH_OUT ?? 'bench-results.json');
  // Untraced first: the first run's untraced saturation sets the half-load rate of every run, in both modes.
  let halfLoadRate = 0;
  const results: Record<'untraced' | 'traced', ModeResult>[] = [];
  for (let run = 1; run <= runs; run++) {
    if (runs > 1) say(`run ${run} of ${runs}`);
    const untraced = await measureMode(
      'untraced',
      settings,
      (checkoutsPerSecond) => (halfLoadRate ||= Math.max(1, Math.round(checkoutsPerSecond / 2))),
      say,
    );
    const traced = await measureMode('traced', settings, () => halfLoadRate, say);
    results.push({ untraced, traced });
  }

  const report = benchReport(
    settings,
    halfLoadRate,
    results.map(({ untraced, traced }) => ({ untraced: untraced.figures, traced: traced.figures })),
  );
  await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
  const png = out.replace(/(\.json)?$/, '.png');
  const pooled = (mode: 'untraced' | 'traced', samples: 'latenciesMs' | 'queueMs') => ({
    name: mode,
    valuesMs: results.flatMap((result) => result[mode][samples]),
  });
  await writeCdfPng(
    png,
    `${report.date.slice(0, 10)}, ${report.machine.cpus} cores, open loop at ${halfLoadRate} checkouts/s` +
      (runs > 1 ? `, ${runs} runs pooled` : ''),
    [pooled('untraced', 'latenciesMs'), pooled('traced', 'latenciesMs')],
    [pooled('untraced', 'queueMs'), pooled('traced', 'queueMs')],
  );
  console.log(`\n${table(report)}\n`);
  say(`wrote ${out} and ${png}`);

  const failed = report.runs
    .flatMap(({ untraced, traced }) => [untraced, traced])
    .reduce((sum, m) => sum + m.saturation.failed + m.halfLoad.failed + m.drain.emailsMissing, 0);
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
