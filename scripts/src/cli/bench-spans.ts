// `pnpm bench:spans`: the CPU time of each stage of one span, alone, in this process. docs/benchmark.md says how
// to read it; SPAN_BENCH_ITERATIONS and SPAN_BENCH_REPEATS set the size of each measurement and how many there are.
import { measureSpanCost } from '../bench/span-cost';

const iterations = Number(process.env.SPAN_BENCH_ITERATIONS ?? 20_000);
const repeats = Number(process.env.SPAN_BENCH_REPEATS ?? 7);

async function main(): Promise<void> {
  const costs = await measureSpanCost(iterations, repeats);
  console.log(`CPU µs per span (or per operation), median (lowest–highest) of ${repeats} runs of ${iterations}\n`);
  console.log('| stage | CPU µs |\n| --- | ---: |');
  for (const { stage, cpuMicroseconds: cpu } of costs) {
    console.log(`| ${stage} | ${cpu.median.toFixed(2)} (${cpu.min.toFixed(2)}–${cpu.max.toFixed(2)}) |`);
  }
}

main().catch((error: unknown) => {
  console.error(`[bench:spans] ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
