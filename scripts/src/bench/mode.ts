import { loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createNotificationClient } from '@eshop/notification/client';
import { JaegerQuery } from '@eshop/jaeger-query';
import { CACHE_DIR } from '../paths';
import { SERVICES, Stack, type ServiceName } from '../stack';
import { between, handledMessages } from './consumer-log';
import { startCpuMeter } from './cpu';
import { OrdersTopic, type Offsets } from './kafka';
import { closedLoop, openLoop, type Load } from './load';
import { countSpans, type SpanCount } from './spans';
import { percentiles, type Percentiles } from './stats';

/** The stack untraced (OTEL_SDK_DISABLED=true), or traced with spans exported over OTLP/gRPC or OTLP/HTTP. */
export type Mode = 'untraced' | 'grpc' | 'http';
export const MODES: readonly Mode[] = ['untraced', 'grpc', 'http'];

const MODE_ENV: Record<Mode, NodeJS.ProcessEnv> = {
  untraced: { OTEL_SDK_DISABLED: 'true' },
  grpc: { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' },
  http: { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' },
};

export interface BenchSettings {
  /** How long the saturation phase lasts, and so, at half its rate, about how long the half-load phase does. */
  seconds: number;
  /** How long the sustained saturation phase lasts, whose checkouts' traces are counted. */
  sustainedSeconds: number;
  warmUpSeconds: number;
  /** How long the idle CPU time is measured, between the saturation and the half-load phases. */
  idleSeconds: number;
  /** The closed loop's clients, at saturation and while the backlog is made. */
  connections: number;
  /** How many events the drain phase leaves for kafka-consumer to catch up on. */
  backlog: number;
  /** Checkouts at saturation once the broker has started, before the first mode: its warm-up. */
  stackWarmUpSeconds: number;
}

/** What one mode measured, as written to the JSON. */
export interface ModeFigures {
  /** The load average when the stack had started: other work on the machine shows here. */
  loadAverage: number;
  saturation: { checkoutsPerSecond: number; checkouts: number; failed: number };
  sustained: { checkoutsPerSecond: number; checkouts: number; failed: number };
  halfLoad: {
    rate: number;
    checkouts: number;
    failed: number;
    latencyMs: Percentiles;
    queueMs: Percentiles;
    /** By process (the services, `kafka`, `jaeger`), and `services`: the six together. */
    cpuMsPerCheckout: Record<string, number>;
  };
  /** The same processes' CPU time with no checkout at all: what part of the above is background. */
  idleCpuMsPerSecond: Record<string, number>;
  drain: { messages: number; seconds: number; messagesPerSecond: number; emailsMissing: number };
  /** Of the sustained phase's placed checkouts; traced modes only. */
  spans: SpanCount | null;
}

/** The figures, and the raw samples the plot is drawn from. */
export interface ModeResult {
  figures: ModeFigures;
  latenciesMs: number[];
  queueMs: number[];
}

/** Long enough for any phase's events to be handled, even on a busy machine. */
const CATCH_UP_TIMEOUT_MS = 600_000;
/** Kept in the CPU window after the last event is handled: the services export their last spans within a second. */
const EXPORT_SETTLE_MS = 2000;

/**
 * The broker and Jaeger, started once for every mode and run, so that each mode finds them warm; the services are
 * started by each mode. Before the first mode, `warmUpSeconds` of checkouts at saturation bring the broker past its
 * start (its JIT compilation, above all), so that even the first mode measures its steady state.
 */
export async function startBenchStack(settings: BenchSettings, say: (message: string) => void): Promise<Stack> {
  say('starting Kafka and Jaeger');
  const stack = await Stack.start({ output: 'files', runDir: join(CACHE_DIR, 'bench'), services: [] });
  try {
    await startServices(stack, 'untraced');
    say(`warming the broker up: ${settings.stackWarmUpSeconds} s of checkouts`);
    const topic = await OrdersTopic.connect(stack.kafkaBrokers);
    try {
      const from = await topic.ends();
      const load = await closedLoop(stack.url('eshop'), {
        connections: settings.connections,
        seconds: settings.stackWarmUpSeconds,
      });
      await topic.untilPublished(from, load.checkouts, CATCH_UP_TIMEOUT_MS);
      await topic.untilCaughtUp(CATCH_UP_TIMEOUT_MS);
    } finally {
      await topic.close();
    }
    await stopServices(stack);
    return stack;
  } catch (error) {
    await stack.stop();
    throw error;
  }
}

/** A service's environment in a mode, with stock for any number of checkouts, so that none fails for want of it. */
function serviceEnv(mode: Mode, service: ServiceName): NodeJS.ProcessEnv {
  return { ...MODE_ENV[mode], ...(service === 'inventory' ? { INITIAL_STOCK: '100000000' } : {}) };
}

async function startServices(stack: Stack, mode: Mode): Promise<void> {
  await Promise.all(SERVICES.map((service) => stack.startService(service, serviceEnv(mode, service))));
}

async function stopServices(stack: Stack): Promise<void> {
  await Promise.all(SERVICES.map((service) => stack.stopService(service)));
}

/**
 * One mode on the bench's stack, its six services started for it: saturation, sustained saturation (and, traced,
 * its spans counted), a few idle seconds, the half-load rate (`rateFor` the saturation throughput), then the drain
 * of a backlog. Before each phase, kafka-consumer has caught up with the last one, so that no phase queues behind
 * another's events.
 */
export async function measureMode(
  stack: Stack,
  mode: Mode,
  settings: BenchSettings,
  rateFor: (checkoutsPerSecond: number) => number,
  say: (message: string) => void,
): Promise<ModeResult> {
  say(`${mode}: starting the services`);
  await startServices(stack, mode);
  const topic = await OrdersTopic.connect(stack.kafkaBrokers);
  const url = stack.url('eshop');
  const consumerLog = stack.logFile('kafka-consumer');
  /** Waits until a phase's events are all on the topic and handled, and returns the topic's ends. */
  const handled = async (from: Offsets, load: Load) => {
    const to = await topic.untilPublished(from, load.checkouts, CATCH_UP_TIMEOUT_MS);
    await topic.untilCaughtUp(CATCH_UP_TIMEOUT_MS);
    return to;
  };
  try {
    const loadAverage = loadavg()[0];
    const { connections, seconds } = settings;
    const warmUpFrom = await topic.ends();
    await handled(warmUpFrom, await closedLoop(url, { connections, seconds: settings.warmUpSeconds }));

    say(`${mode}: saturation, ${seconds} s of checkouts from ${connections} connections`);
    const saturatedFrom = await topic.ends();
    const saturated = await closedLoop(url, { connections, seconds });
    const checkoutsPerSecond = saturated.checkouts / saturated.seconds;
    say(`${mode}: ${checkoutsPerSecond.toFixed(1)} checkouts/s; waiting for kafka-consumer to catch up`);
    await handled(saturatedFrom, saturated);

    say(`${mode}: sustained saturation, ${settings.sustainedSeconds} s`);
    const sustainedFrom = await topic.ends();
    const sustained = await closedLoop(url, { connections, seconds: settings.sustainedSeconds });
    await handled(sustainedFrom, sustained);
    let spans: SpanCount | null = null;
    if (mode !== 'untraced') {
      // The traces of the checkouts eshop accepted, and only those: a refused one has no trace to complete.
      say(`${mode}: counting the spans of ${sustained.traceIds.length} traces in Jaeger`);
      spans = await countSpans(new JaegerQuery(stack.jaegerQueryUrl, 30_000), sustained.traceIds, CATCH_UP_TIMEOUT_MS);
    }

    const pids = processIds(stack);
    say(`${mode}: ${settings.idleSeconds} s idle`);
    const idleSince = await startCpuMeter(pids);
    await delay(settings.idleSeconds * 1000);
    const idleCpuMsPerSecond = withServices(await idleSince(), settings.idleSeconds);

    const rate = rateFor(checkoutsPerSecond);
    const amount = Math.max(1, Math.round(rate * seconds));
    say(`${mode}: half load, ${amount} checkouts at ${rate}/s`);
    const halfFrom = await topic.ends();
    const cpuSince = await startCpuMeter(pids);
    const halfLoad = await openLoop(url, { rate, amount });
    const halfTo = await handled(halfFrom, halfLoad);
    await delay(EXPORT_SETTLE_MS);
    const cpuMs = await cpuSince();
    const queueMs = between(await handledMessages(consumerLog), halfFrom, halfTo).map((message) => message.queueMs);
    if (queueMs.length === 0) throw new Error(`no "message handled" line in ${consumerLog} for the half load`);

    say(`${mode}: drain, ${settings.backlog} checkouts with kafka-consumer stopped`);
    await stack.stopService('kafka-consumer');
    const backlogFrom = await topic.ends();
    const backlog = await closedLoop(url, { connections, amount: settings.backlog });
    const backlogTo = await topic.untilPublished(backlogFrom, backlog.checkouts, CATCH_UP_TIMEOUT_MS);
    // Watched from the start: a small backlog may be drained before kafka-consumer even answers ready.
    const [caughtUpAt] = await Promise.all([
      topic.untilCaughtUp(CATCH_UP_TIMEOUT_MS),
      stack.startService('kafka-consumer', serviceEnv(mode, 'kafka-consumer')),
    ]);
    const drained = between(await handledMessages(consumerLog), backlogFrom, backlogTo);
    if (drained.length === 0) throw new Error(`no "message handled" line in ${consumerLog} for the backlog`);
    // From the first event handled, so that the consumer's start-up is not counted.
    const drainSeconds = (caughtUpAt - Math.min(...drained.map((message) => message.at))) / 1000;
    const emailsMissing = await missingEmails(stack, backlog.orderIds);
    say(`${mode}: ${backlog.checkouts} events drained in ${drainSeconds.toFixed(1)} s`);

    return {
      figures: {
        loadAverage,
        saturation: { checkoutsPerSecond, checkouts: saturated.checkouts, failed: saturated.failed },
        sustained: {
          checkoutsPerSecond: sustained.checkouts / sustained.seconds,
          checkouts: sustained.checkouts,
          failed: sustained.failed,
        },
        halfLoad: {
          rate,
          checkouts: halfLoad.checkouts,
          failed: halfLoad.failed,
          latencyMs: percentiles(halfLoad.latenciesMs),
          queueMs: percentiles(queueMs),
          cpuMsPerCheckout: withServices(cpuMs, halfLoad.checkouts),
        },
        idleCpuMsPerSecond,
        drain: {
          messages: backlog.checkouts,
          seconds: drainSeconds,
          messagesPerSecond: backlog.checkouts / drainSeconds,
          emailsMissing,
        },
        spans,
      },
      latenciesMs: halfLoad.latenciesMs,
      queueMs,
    };
  } finally {
    await topic.close();
    await stopServices(stack);
  }
}

/**
 * The processes whose CPU time is measured, by name: each service (its first instance), and the Kafka nodes and
 * Jaeger when the stack runs them.
 */
function processIds(stack: Stack): Record<string, number[]> {
  const pids: Record<string, number[]> = {
    ...Object.fromEntries(
      SERVICES.map((service) => [service, [stack.servicePid(service)].filter((pid) => pid !== undefined)]),
    ),
    ...stack.infraPids(),
  };
  return Object.fromEntries(Object.entries(pids).filter(([, group]) => group.length > 0));
}

/** CPU milliseconds by process, with `services`, the six together, added, each divided by `per`. */
function withServices(cpuMs: Record<string, number>, per: number): Record<string, number> {
  const services = SERVICES.reduce((sum, service) => sum + (cpuMs[service] ?? 0), 0);
  return Object.fromEntries(Object.entries({ ...cpuMs, services }).map(([name, ms]) => [name, ms / per]));
}

/** The orders notification has no e-mail for, asked a few at a time. */
async function missingEmails(stack: Stack, orderIds: string[]): Promise<number> {
  const notification = createNotificationClient(stack.url('notification'));
  let missing = 0;
  for (let i = 0; i < orderIds.length; i += 16) {
    const found = await Promise.all(
      orderIds.slice(i, i + 16).map(async (orderId) => (await notification.emails({ orderId })).length),
    );
    missing += found.filter((count) => count === 0).length;
  }
  return missing;
}
