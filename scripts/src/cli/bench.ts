// `pnpm bench`: what tracing costs, and whether the Kafka hop keeps up. One run measures the services untraced
// (OTEL_SDK_DISABLED=true), then traced over OTLP/gRPC and over OTLP/HTTP, under the same load and on one warm broker
// and Jaeger, and writes the figures to BENCH_OUT (JSON) with a latency plot beside it (PNG). docs/benchmark.md says
// what each figure is.
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { measureMode, MODES, startBenchStack, type BenchSettings, type Mode, type ModeResult } from '../bench/mode';
import { writeCdfPng } from '../bench/plot';
import { benchReport, table } from '../bench/report';

const say = (message: string) => console.log(`[bench] ${message}`);

function settingsFromEnv(): BenchSettings {
  const seconds = Number(process.env.BENCH_SECONDS ?? 15);
  return {
    seconds,
    sustainedSeconds: Number(process.env.BENCH_SUSTAINED_SECONDS ?? 60),
    stackWarmUpSeconds: Number(process.env.BENCH_WARM_UP_SECONDS ?? 30),
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
  // Untraced first: the first run's untraced saturation sets the half-load rate of every run, in every mode.
  let halfLoadRate = 0;
  const rateFor = (checkoutsPerSecond: number) => (halfLoadRate ||= Math.max(1, Math.round(checkoutsPerSecond / 2)));
  const results: Record<Mode, ModeResult>[] = [];
  const stack = await startBenchStack(settings, say);
  try {
    for (let run = 1; run <= runs; run++) {
      if (runs > 1) say(`run ${run} of ${runs}`);
      const result: Partial<Record<Mode, ModeResult>> = {};
      for (const mode of MODES) result[mode] = await measureMode(stack, mode, settings, rateFor, say);
      results.push(result as Record<Mode, ModeResult>);
    }
  } finally {
    await stack.stop();
  }

  const report = benchReport(
    settings,
    halfLoadRate,
    results.map(
      (result) =>
        Object.fromEntries(MODES.map((mode) => [mode, result[mode].figures])) as Record<Mode, ModeResult['figures']>,
    ),
  );
  await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
  const png = out.replace(/(\.json)?$/, '.png');
  const pooled = (mode: Mode, samples: 'latenciesMs' | 'queueMs') => ({
    name: mode,
    valuesMs: results.flatMap((result) => result[mode][samples]),
  });
  await writeCdfPng(
    png,
    `${report.date.slice(0, 10)}, ${report.machine.cpus} cores, open loop at ${halfLoadRate} checkouts/s` +
      (runs > 1 ? `, ${runs} runs pooled` : ''),
    MODES.map((mode) => pooled(mode, 'latenciesMs')),
    MODES.map((mode) => pooled(mode, 'queueMs')),
  );
  console.log(`\n${table(report)}\n`);
  say(`wrote ${out} and ${png}`);

  const failed = report.runs
    .flatMap((run) => MODES.map((mode) => run[mode]))
    .reduce((sum, m) => sum + m.saturation.failed + m.sustained.failed + m.halfLoad.failed + m.drain.emailsMissing, 0);
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
