import { cpus } from 'node:os';
import { SERVICES } from '../stack';
import type { BenchSettings, ModeFigures } from './mode';

export interface BenchReport {
  date: string;
  machine: { cpus: number; model: string };
  settings: BenchSettings & { halfLoadRate: number };
  untraced: ModeFigures;
  traced: ModeFigures;
}

export function benchReport(settings: BenchSettings, halfLoadRate: number, untraced: ModeFigures, traced: ModeFigures) {
  const cpu = cpus();
  return {
    date: new Date().toISOString(),
    machine: { cpus: cpu.length, model: cpu[0]?.model ?? 'unknown' },
    settings: { ...settings, halfLoadRate },
    untraced,
    traced,
  } satisfies BenchReport;
}

const PROCESSES = [...SERVICES, 'services', 'kafka', 'jaeger'];
const PROCESS_LABELS: Record<string, string> = { services: 'the six services', kafka: 'Kafka broker' };

/** The figures side by side, untraced, traced and their ratio, as a Markdown table (it reads as well in a terminal). */
export function table({ settings, untraced, traced }: BenchReport): string {
  const rows: [string, number, number, number, boolean][] = [];
  const row = (name: string, pick: (figures: ModeFigures) => number, digits = 1, ratio = true) =>
    rows.push([name, pick(untraced), pick(traced), digits, ratio]);
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
  const cell = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '-');
  const lines = [
    '| | untraced | traced | traced / untraced |',
    '| --- | ---: | ---: | ---: |',
    ...rows.map(
      ([name, a, b, digits, ratio]) =>
        `| ${name} | ${cell(a, digits)} | ${cell(b, digits)} | ${ratio ? cell(b / a, 2) : ''} |`,
    ),
  ];
  const spans = traced.spans;
  if (spans) {
    lines.push(
      '',
      `Spans at saturation: ${spans.receivedSpans} of ${spans.expectedSpans} received; ` +
        `${spans.incompleteTraces} of ${spans.traces} checkout traces incomplete.`,
    );
  }
  return lines.join('\n');
}
