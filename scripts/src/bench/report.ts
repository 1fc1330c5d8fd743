import { cpus } from 'node:os';
import { SERVICES } from '../stack';
import { MODES, type BenchSettings, type Mode, type ModeFigures } from './mode';

export type ModesFigures = Record<Mode, ModeFigures>;

export interface BenchReport extends ModesFigures {
  date: string;
  machine: { cpus: number; model: string };
  settings: BenchSettings & { runs: number; halfLoadRate: number };
  /** Each mode's figures are the medians of each figure over these, each run's own, in the order they ran. */
  runs: ModesFigures[];
}

export function benchReport(settings: BenchSettings, halfLoadRate: number, runs: ModesFigures[]): BenchReport {
  const cpu = cpus();
  const modes = Object.fromEntries(MODES.map((mode) => [mode, median(runs.map((run) => run[mode]))])) as ModesFigures;
  return {
    date: new Date().toISOString(),
    machine: { cpus: cpu.length, model: cpu[0]?.model ?? 'unknown' },
    settings: { ...settings, runs: runs.length, halfLoadRate },
    ...modes,
    runs,
  };
}

/** The same shape as each of `values`, with each number the median of that number over them. */
function median<T>(values: T[]): T {
  const [first] = values;
  if (typeof first === 'number') {
    const sorted = (values as number[]).toSorted((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return (sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2) as T;
  }
  if (first === null || typeof first !== 'object') return first;
  return Object.fromEntries(
    Object.keys(first).map((key) => [key, median(values.map((value) => (value as Record<string, unknown>)[key]))]),
  ) as T;
}

const PROCESSES = [...SERVICES, 'services', 'kafka', 'jaeger'];
const PROCESS_LABELS: Record<string, string> = { services: 'the six services', kafka: 'Kafka broker' };
const TRACED: Mode[] = ['grpc', 'http'];

/**
 * The figures side by side, untraced and traced over each protocol, and the ratio of each traced mode to untraced,
 * as a Markdown table (it reads as well in a terminal). Over several runs, each figure and each ratio is the median
 * of the runs', followed by the lowest and the highest: a ratio is taken within each run, then its median.
 */
export function table(report: BenchReport): string {
  const { settings, runs } = report;
  const lines = [
    '| | untraced | gRPC | HTTP | gRPC / untraced | HTTP / untraced |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  const number = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '-');
  const spread = (each: number[], digits: number) => {
    const middle = median(each);
    if (each.length === 1) return number(middle, digits);
    return `${number(middle, digits)} (${number(Math.min(...each), digits)}–${number(Math.max(...each), digits)})`;
  };
  const row = (name: string, pick: (figures: ModeFigures) => number, digits = 1, ratio = true) => {
    const figures = MODES.map((mode) =>
      spread(
        runs.map((run) => pick(run[mode])),
        digits,
      ),
    );
    const ratios = TRACED.map((mode) =>
      ratio
        ? spread(
            runs.map((run) => pick(run[mode]) / pick(run.untraced)),
            2,
          )
        : '',
    );
    lines.push(`| ${name} | ${[...figures, ...ratios].join(' | ')} |`);
  };
  const rate = `${settings.halfLoadRate}/s`;
  row(`checkouts/s at saturation (${settings.connections} connections)`, (m) => m.saturation.checkoutsPerSecond);
  row(`checkouts/s, sustained ${settings.sustainedSeconds} s`, (m) => m.sustained.checkoutsPerSecond);
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
  runs.forEach((run, index) => {
    for (const mode of TRACED) {
      const { spans } = run[mode];
      if (!spans) continue;
      lines.push(
        `Spans of the sustained phase, ${mode}${runs.length > 1 ? `, run ${index + 1}` : ''}: ` +
          `${spans.receivedSpans} of ${spans.expectedSpans} received; ` +
          `${spans.incompleteTraces} of ${spans.traces} checkout traces incomplete.`,
      );
    }
  });
  return lines.join('\n');
}
