import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { JAEGER_QUERY_URL, REPO_ROOT } from './paths';
import { ManagedProcess, pidsOf, portOpen, SetupError } from './processes';
import type { Progress } from './provision';

/** How spans reach Jaeger: straight over OTLP (`direct`), or through a collector and Kafka (`kafka`). */
export type TracePipeline = 'direct' | 'kafka';

export function tracePipelineOf(value = 'direct'): TracePipeline {
  if (value === 'direct' || value === 'kafka') return value;
  throw new SetupError(`TRACE_PIPELINE must be direct or kafka, not ${value}`);
}

/** The ports the trace backends take, for the stack's check that they are free. */
export const TRACE_BACKEND_PORTS: Record<TracePipeline, number[]> = {
  // Jaeger all-in-one: OTLP gRPC and HTTP, the query API over gRPC and HTTP.
  direct: [4317, 4318, 16685, 16686],
  // The collector's OTLP and health ports, the ingester's query and health, Zipkin's.
  kafka: [4317, 4318, 13133, 16685, 16686, 14133, 9411],
};

export const ZIPKIN_URL = 'http://localhost:9411/zipkin/';

/**
 * The topics the collector writes spans to (named in trace-pipeline/collector.yaml too), kept for hours: long
 * enough to ride out a backend's outage, short enough for a laptop's disk.
 */
const SPAN_TOPICS = ['jaeger-spans', 'zipkin-spans'];
const SPAN_RETENTION_MS = 6 * 60 * 60 * 1000;

/** The direct pipeline's Jaeger: OTLP in, memory storage, the query API, and nothing else open. */
const ALL_IN_ONE_CONFIG = join(REPO_ROOT, 'scripts', 'jaeger', 'all-in-one.yaml');

export interface TraceBackendsOptions {
  pipeline: TracePipeline;
  jaegerBinary: string;
  /** Only for the `kafka` pipeline. */
  zipkinJar?: string;
  kafkaBrokers: string[];
  runDir: string;
  /** The interface every backend listens on. */
  listenHost: string;
  progress: Progress;
}

/**
 * Where the services' spans go natively. `direct`: one all-in-one Jaeger (OTLP in, memory storage, query API).
 * `kafka`: a collector that writes spans to Kafka, Jaeger's ingester that reads them into its query API, and
 * Zipkin, which reads them too and is the trace UI of the native stack.
 */
export class TraceBackends {
  readonly jaegerQueryUrl = JAEGER_QUERY_URL;
  private jaeger?: ManagedProcess;
  private collector?: ManagedProcess;
  private zipkin?: ManagedProcess;

  constructor(private readonly options: TraceBackendsOptions) {}

  get pipeline(): TracePipeline {
    return this.options.pipeline;
  }

  get jaegerPids(): number[] {
    return pidsOf([this.jaeger]);
  }

  /** Jaeger's, and with TRACE_PIPELINE=kafka the collector's and Zipkin's. */
  get pids(): number[] {
    return pidsOf([this.jaeger, this.collector, this.zipkin]);
  }

  async start(): Promise<void> {
    if (this.pipeline === 'kafka') await this.startPipeline();
    await this.startJaeger();
  }

  /**
   * Starts Jaeger (again: its storage is in memory, so a restarted Jaeger has no traces) and waits for it. With
   * TRACE_PIPELINE=kafka this is the ingester, which serves the same query API and fills its memory from
   * `jaeger-spans`: from the earliest span kept, since each start joins a consumer group of its own.
   */
  async startJaeger(): Promise<void> {
    const ingester = this.pipeline === 'kafka';
    this.options.progress(
      ingester
        ? "starting Jaeger's ingester: spans from Kafka, query API on 16686"
        : 'starting Jaeger: OTLP on 4317/4318, query API on 16686',
    );
    this.jaeger = ManagedProcess.start(
      'jaeger',
      this.options.jaegerBinary,
      ['--config', ingester ? join(REPO_ROOT, 'trace-pipeline', 'ingester.yaml') : ALL_IN_ONE_CONFIG],
      {
        env: {
          ...this.env(14133),
          ...(ingester ? { JAEGER_INGESTER_GROUP_ID: `jaeger-ingester-${Date.now()}` } : {}),
        },
        output: { kind: 'file', path: this.logFile('jaeger') },
      },
    );
    await this.jaeger.whileRunning('Jaeger to answer', async () => {
      const response = await fetch(`${this.jaegerQueryUrl}/api/services`);
      return response.ok && (ingester || (await portOpen(4317)));
    });
  }

  async stopJaeger(): Promise<void> {
    await this.jaeger?.stop();
  }

  /** The collector first, which sends what it still holds to Kafka; then the backends that read it. */
  async stop(): Promise<void> {
    await this.collector?.stop();
    await Promise.all([this.jaeger?.stop(), this.zipkin?.stop()]);
  }

  /** For `process.on('exit')`, where nothing can be awaited. */
  killNow(): void {
    for (const child of [this.jaeger, this.collector, this.zipkin]) child?.killNow();
  }

  /** The span topics, the collector that writes the services' spans to them, and Zipkin, which reads them. */
  private async startPipeline(): Promise<void> {
    await createSpanTopics(this.options.kafkaBrokers);
    this.options.progress('starting the trace collector: OTLP on 4317/4318, spans to Kafka');
    this.collector = ManagedProcess.start(
      'jaeger-collector',
      this.options.jaegerBinary,
      ['--config', join(REPO_ROOT, 'trace-pipeline', 'collector.yaml')],
      { env: this.env(13133), output: { kind: 'file', path: this.logFile('jaeger-collector') } },
    );
    this.options.progress(`starting Zipkin on ${ZIPKIN_URL}`);
    // Zipkin's server is Armeria inside Spring Boot: its port's address is an Armeria setting.
    const zipkinPort = [`--armeria.ports[0].port=9411`, `--armeria.ports[0].ip=${this.options.listenHost}`];
    this.zipkin = ManagedProcess.start(
      'zipkin',
      'java',
      ['-Xmx256m', '-jar', this.options.zipkinJar!, ...zipkinPort, '--armeria.ports[0].protocols=http'],
      {
        env: {
          ...process.env,
          STORAGE_TYPE: 'mem',
          KAFKA_BOOTSTRAP_SERVERS: this.options.kafkaBrokers.join(','),
          KAFKA_TOPIC: 'zipkin-spans',
        },
        output: { kind: 'file', path: this.logFile('zipkin') },
      },
    );
    const collector = this.collector;
    const zipkin = this.zipkin;
    await Promise.all([
      collector.whileRunning('the trace collector to answer', () => portOpen(4317)),
      zipkin.whileRunning('Zipkin to answer', async () => (await fetch('http://localhost:9411/health')).ok),
    ]);
  }

  /**
   * A Jaeger process's environment: the brokers, and where it listens. JAEGER_LISTEN_HOST is Jaeger's own
   * variable for its interface, read by every config file here; the health check (the pipeline's only) takes a
   * whole address, since compose and Kubernetes move it to one port.
   */
  private env(healthPort: number): NodeJS.ProcessEnv {
    return {
      ...process.env,
      KAFKA_BROKERS: this.options.kafkaBrokers.join(','),
      JAEGER_LISTEN_HOST: this.options.listenHost,
      JAEGER_HEALTH_ADDRESS: `${this.options.listenHost}:${healthPort}`,
    };
  }

  private logFile(name: string): string {
    return join(this.options.runDir, `${name}.log`);
  }
}

/** The span topics, if missing, with a demo's retention. */
async function createSpanTopics(brokers: string[]): Promise<void> {
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const topics = SPAN_TOPICS.filter((topic) => !existing.has(topic)).map((topic) => ({
      topic,
      numPartitions: 3,
      configEntries: [{ name: 'retention.ms', value: String(SPAN_RETENTION_MS) }],
    }));
    if (topics.length > 0) await admin.createTopics({ topics, waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}
