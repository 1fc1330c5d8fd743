import { cpus } from 'node:os';
import { SERVICES } from '../stack';
import type { BenchSettings, ModeFigures } from './mode';

export interface ModesFigures {
  untraced: ModeFigures;
  traced: ModeFigures;
}

export interface BenchReport extends ModesFigures {
  date: string;
  machine: { cpus: number; model: string };
  settings: BenchSettings & { runs: number; halfLoadRate: number };
  /** `untraced` and `traced` are the medians of each figure over these, each run's own, in the order they ran. */
  runs: ModesFigures[];
}

export function benchReport(settings: BenchSettings, halfLoadRate: number, runs: ModesFigures[]): BenchReport {
  const cpu = cpus();
  return {
    date: new Date().toISOString(),
    machine: { cpus: cpu.length, model: cpu[0]?.model ?? 'unknown' },
    settings: { ...settings, runs: runs.length, halfLoadRate },
    untraced: medians(runs.map((run) => run.untraced)),
    traced: medians(runs.map((run) => run.traced)),
    runs,
  };
}

/** The same shape as each of `values`, with each number the median of that number over them. */
function medians<T>(values: T[]): T {
  const [first] = values;
  if (typeof first === 'number') {
    const sorted = (values as number[]).toSorted((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return (sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2) as T;
  }
  if (first === null || typeof first !== 'object') return first;
  return Object.fromEntries(
    Object.keys(first).map((key) => [key, medians(values.map((value) => (value as Record<string, unknown>)[key]))]),
  ) as T;
}

const PROCESSES = [...SERVICES, 'services', 'kafka', 'jaeger'];
const PROCESS_LABELS: Record<string, string> = { services: 'the six services', kafka: 'Kafka broker' };

/**
 * The figures side by side, untraced, traced and the ratio of the two, as a Markdown table (it reads as well in a
 * terminal). Over several runs, each is the median, followed by the lowest and the highest of the runs.
 */
export function table({ settings, untraced, traced, runs }: BenchReport): string {
  const lines = ['| | untraced | traced | traced / untraced |', '| --- | ---: | ---: | ---: |'];
  const number = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '-');
  const row = (name: string, pick: (figures: ModeFigures) => number, digits = 1, ratio = true) => {
    const cell = (mode: keyof ModesFigures, median: ModeFigures) => {
      if (runs.length === 1) return number(pick(median), digits);
      const each = runs.map((run) => pick(run[mode]));
      return `${number(pick(median), digits)} (${number(Math.min(...each), digits)}–${number(Math.max(...each), digits)})`;
    };
    const quotient = ratio ? number(pick(traced) / pick(untraced), 2) : '';
    lines.push(`| ${name} | ${cell('untraced', untraced)} | ${cell('traced', traced)} | ${quotient} |`);
  };
  const rate = `${settings.halfLoadRate}/s`;
  row(`checkouts/s at saturation (${settings.connections} connections)`, (m) => m.saturation.checkoutsPerSecond);
  row(`latency p50 at ${rate}, ms`, (m) => m.halfLoad.latencyMs.p50);
  row(`latency p99 at ${rate}, ms`, (m) => m.halfLoad.latencyMs.p99);
  row(`time in Kafka p50 at ${rate}, ms`, (m) => m.halfLoad.queueMs.p50);
  row(`time in Kafka p99 at ${rate}, ms`, (m) => m.halfLoad.queueMs.p99);
  row(`drain of ${settings.backlog} events, events/s`, (m) => m.drain.messagesPerSecond);
  // Untraced, Jaeger receives nothing: a ratio to its idle time would say nothing.
  for (const name of PROCESSES) {
    const label = PROCESS_LABELS[name] ?? name;
    row(`CPU ms per checkout: ${label}`, (m) => m.halfLoad.cpuMsPerCheckout[name] ?? NaN, 2, name !== 'jaeger');
  }
  for (const name of ['services', 'kafka']) {
    row(`idle CPU ms per second: ${PROCESS_LABELS[name]}`, (m) => m.idleCpuMsPerSecond[name] ?? NaN, 1, false);
  }
  lines.push('');
  runs.forEach(({ traced: { spans } }, index) => {
    if (!spans) return;
    const run = runs.length > 1 ? `, run ${index + 1}` : '';
    lines.push(
      `Spans at saturation${run}: ${spans.receivedSpans} of ${spans.expectedSpans} received; ` +
        `${spans.incompleteTraces} of ${spans.traces} checkout traces incomplete.`,
    );
  });
  return lines.join('\n');
}
