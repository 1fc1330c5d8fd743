import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { CACHE_DIR, JAEGER_QUERY_URL, REPO_ROOT } from './paths';
import { ManagedProcess, run, SetupError, waitFor, type Output } from './processes';
import { ensureJaegerBinary, ensureKafkaJars, ensureZipkinJar, type Progress } from './provision';

/** In start order: the callees first, so that eshop and kafka-consumer find them ready. */
export const SERVICES = ['inventory', 'billing', 'delivery', 'notification', 'eshop', 'kafka-consumer'] as const;
export type ServiceName = (typeof SERVICES)[number];

export const SERVICE_PORTS: Record<ServiceName, number> = {
  eshop: 8080,
  inventory: 8081,
  billing: 8082,
  delivery: 8083,
  notification: 8084,
  'kafka-consumer': 8085,
};

/**
 * How every service starts, here as in its image. kafkajs 2.2.4 sets timers with negative delays, which Node 24
 * warns about at every connection; they fire at once, as kafkajs expects, so the warning is only noise.
 */
export const SERVICE_NODE_ARGS = [
  '--disable-warning=TimeoutNegativeWarning',
  '--require',
  '@eshop/tracing/register',
  'dist/src/main.js',
];

const KAFKA_PORTS = [9092, 9093];
const JAEGER_PORTS = [4317, 4318, 16686];
/** TRACE_PIPELINE=kafka: the collector's OTLP and health ports, the ingester's query and health, Zipkin's. */
const TRACE_PIPELINE_PORTS = [4317, 4318, 13133, 16686, 14133, 9411];
/**
 * The topics the collector writes spans to (named in trace-pipeline/collector.yaml too), kept for hours: long
 * enough to ride out a backend's outage, short enough for a laptop's disk.
 */
const SPAN_TOPICS = ['jaeger-spans', 'zipkin-spans'];
const SPAN_RETENTION_MS = 6 * 60 * 60 * 1000;
export const ZIPKIN_URL = 'http://localhost:9411/zipkin/';

export type TracePipeline = 'direct' | 'kafka';
const READY_TIMEOUT_MS = 90_000;
/** The files the services keep their state in, by variable: in the run folder, beside Kafka's data. */
const DATA_FILES: Partial<Record<ServiceName, Record<string, string>>> = {
  eshop: { OUTBOX_DB: 'outbox.db' },
  notification: { NOTIFICATION_DB: 'notification.db' },
};
/** The supervisor's wait before restarting a service, doubled while it keeps exiting soon after each start. */
const RESTART_DELAY = { firstMs: 1000, maxMs: 30_000, resetAfterMs: 60_000 };

export interface StackOptions {
  /** `terminal`: the services' JSON log lines go to stdout; `files`: each process logs to `<runDir>/<name>.log`. */
  output: 'terminal' | 'files';
  /** Logs and broker data; emptied at start. */
  runDir?: string;
  /** Extra environment for one service, on top of the inherited environment. */
  serviceEnv?: Partial<Record<ServiceName, NodeJS.ProcessEnv>>;
  /** The services to start with the stack, all six unless told; `startService` starts the others later. */
  services?: readonly ServiceName[];
  progress?: Progress;
  /** How spans reach Jaeger: straight over OTLP (`direct`), or through a collector and Kafka (`kafka`); TRACE_PIPELINE. */
  tracePipeline?: TracePipeline;
}

/**
 * The whole demo on this machine: a Kafka broker and a Jaeger (unless `KAFKA_BROKERS` or
 * `OTEL_EXPORTER_OTLP_ENDPOINT` point elsewhere) and the six services, each started as in production:
 * `node --require @eshop/tracing/register dist/src/main.js`. `pnpm start` and the end-to-end tests share it.
 *
 * It supervises the services as compose's `restart:` and Kubernetes do: one that exits without being stopped
 * through the stack is started again, with the same environment, after a short backoff.
 */
export class Stack {
  readonly jaegerQueryUrl = JAEGER_QUERY_URL;
  readonly kafkaBrokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',').map((broker) => broker.trim());
  readonly tracePipeline: TracePipeline;
  private readonly runDir: string;
  private readonly progress: Progress;
  private readonly services = new Map<ServiceName, ManagedProcess>();
  private readonly restarts = new Map<ServiceName, { delayMs: number; timer?: NodeJS.Timeout }>();
  private stopping = false;
  private kafka?: ManagedProcess;
  private jaeger?: ManagedProcess;
  private collector?: ManagedProcess;
  private zipkin?: ManagedProcess;
  private kafkaJars?: string;
  private jaegerBinary?: string;
  private zipkinJar?: string;

  private constructor(private readonly options: StackOptions) {
    this.runDir = options.runDir ?? join(CACHE_DIR, 'run');
    this.progress = options.progress ?? (() => {});
    this.tracePipeline = options.tracePipeline ?? tracePipelineOf(process.env.TRACE_PIPELINE);
  }

  static async start(options: StackOptions): Promise<Stack> {
    const stack = new Stack(options);
    process.once('exit', stack.killNow);
    try {
      await stack.startAll();
    } catch (error) {
      await stack.stop();
      throw error;
    }
    return stack;
  }

  get ownsKafka(): boolean {
    return process.env.KAFKA_BROKERS === undefined;
  }

  get ownsJaeger(): boolean {
    return process.env.OTEL_EXPORTER_OTLP_ENDPOINT === undefined;
  }

  url(service: ServiceName): string {
    return `http://localhost:${SERVICE_PORTS[service]}`;
  }

  private async startAll(): Promise<void> {
    await assertPortsFree([
      ...Object.values(SERVICE_PORTS),
      ...(this.ownsKafka ? KAFKA_PORTS : []),
      ...(this.ownsJaeger ? (this.tracePipeline === 'kafka' ? TRACE_PIPELINE_PORTS : JAEGER_PORTS) : []),
    ]);
    const [jars, jaegerBinary, zipkinJar] = await Promise.all([
      this.ownsKafka ? ensureKafkaJars(this.progress) : undefined,
      this.ownsJaeger ? ensureJaegerBinary(this.progress) : undefined,
      this.ownsJaeger && this.tracePipeline === 'kafka' ? ensureZipkinJar(this.progress) : undefined,
    ]);
    await rm(this.runDir, { recursive: true, force: true });
    await mkdir(this.runDir, { recursive: true });
    this.progress(`logs in ${this.runDir}`);

    if (jars) {
      this.kafkaJars = jars;
      await this.formatKafkaStorage();
      await this.startKafka();
    }
    if (jaegerBinary) {
      this.jaegerBinary = jaegerBinary;
      this.zipkinJar = zipkinJar;
      if (this.tracePipeline === 'kafka') await this.startTracePipeline();
      await this.startJaeger();
    }
    const services = this.options.services ?? SERVICES;
    for (const service of services) this.launchService(service);
    await Promise.all(services.map((service) => this.waitUntilReady(service)));
  }

  /** KRaft needs its storage formatted with a cluster id before the first start. */
  private async formatKafkaStorage(): Promise<void> {
    const template = await readFile(join(REPO_ROOT, 'scripts', 'kafka', 'server.properties'), 'utf8');
    await mkdir(this.kafkaFile('data'), { recursive: true });
    await writeFile(this.kafkaFile('server.properties'), template.replaceAll('${DATA_DIR}', this.kafkaFile('data')));
    const clusterId = newClusterId();
    await run('java', [
      ...this.kafkaJava(),
      'kafka.tools.StorageTool',
      'format',
      '-t',
      clusterId,
      '-c',
      this.kafkaFile('server.properties'),
    ]);
  }

  /** Starts the broker on its existing storage and waits until it answers. */
  async startKafka(): Promise<void> {
    if (!this.kafkaJars) throw new Error('this stack does not own a Kafka broker');
    this.progress('starting Kafka on 127.0.0.1:9092');
    this.kafka = ManagedProcess.start(
      'kafka',
      'java',
      [
        '-Xmx512m',
        `-Dlog4j.configuration=file:${join(REPO_ROOT, 'scripts', 'kafka', 'log4j.properties')}`,
        ...this.kafkaJava(),
        'kafka.Kafka',
        this.kafkaFile('server.properties'),
      ],
      { output: { kind: 'file', path: join(this.runDir, 'kafka.log') } },
    );
    await this.waitOrExit(this.kafka, 'Kafka to accept clients', () => kafkaAnswers(this.kafkaBrokers));
  }

  /** Stops the broker (a controlled shutdown) and keeps its data, for a later `startKafka`. */
  async stopKafka(): Promise<void> {
    await this.kafka?.stop(30_000);
  }

  /**
   * Starts Jaeger (again: its storage is in memory, so a restarted Jaeger has no traces) and waits for it. With
   * TRACE_PIPELINE=kafka this is the ingester, which serves the same query API and fills its memory from
   * `jaeger-spans`: from the earliest span kept, since each start joins a consumer group of its own.
   */
  async startJaeger(): Promise<void> {
    if (!this.jaegerBinary) throw new Error('this stack does not own a Jaeger');
    const ingester = this.tracePipeline === 'kafka';
    this.progress(
      ingester
        ? "starting Jaeger's ingester: spans from Kafka, query API on 16686"
        : 'starting Jaeger: OTLP on 4317/4318, query API on 16686',
    );
    this.jaeger = ManagedProcess.start(
      'jaeger',
      this.jaegerBinary,
      ingester ? ['--config', join(REPO_ROOT, 'trace-pipeline', 'ingester.yaml')] : [],
      {
        env: ingester
          ? { ...process.env, ...this.pipelineEnv(), JAEGER_INGESTER_GROUP_ID: `jaeger-ingester-${Date.now()}` }
          : process.env,
        output: { kind: 'file', path: join(this.runDir, 'jaeger.log') },
      },
    );
    await this.waitOrExit(this.jaeger, 'Jaeger to answer', async () => {
      const response = await fetch(`${this.jaegerQueryUrl}/api/services`);
      return response.ok && (ingester || (await portOpen(4317)));
    });
  }

  /**
   * TRACE_PIPELINE=kafka: the span topics, the collector that writes the services' spans to them, and Zipkin,
   * which reads `zipkin-spans` and is the trace UI of the native stack.
   */
  private async startTracePipeline(): Promise<void> {
    await createSpanTopics(this.kafkaBrokers);
    this.progress('starting the trace collector: OTLP on 4317/4318, spans to Kafka');
    this.collector = ManagedProcess.start(
      'jaeger-collector',
      this.jaegerBinary!,
      ['--config', join(REPO_ROOT, 'trace-pipeline', 'collector.yaml')],
      {
        env: { ...process.env, ...this.pipelineEnv() },
        output: { kind: 'file', path: join(this.runDir, 'jaeger-collector.log') },
      },
    );
    this.progress(`starting Zipkin on ${ZIPKIN_URL}`);
    this.zipkin = ManagedProcess.start('zipkin', 'java', ['-Xmx256m', '-jar', this.zipkinJar!], {
      env: {
        ...process.env,
        STORAGE_TYPE: 'mem',
        QUERY_PORT: '9411',
        KAFKA_BOOTSTRAP_SERVERS: this.kafkaBrokers.join(','),
        KAFKA_TOPIC: 'zipkin-spans',
      },
      output: { kind: 'file', path: join(this.runDir, 'zipkin.log') },
    });
    await Promise.all([
      this.waitOrExit(this.collector, 'the trace collector to answer', () => portOpen(4317)),
      this.waitOrExit(this.zipkin, 'Zipkin to answer', async () => (await fetch('http://localhost:9411/health')).ok),
    ]);
  }

  private pipelineEnv(): NodeJS.ProcessEnv {
    return { KAFKA_BROKERS: this.kafkaBrokers.join(',') };
  }

  async stopJaeger(): Promise<void> {
    await this.jaeger?.stop();
  }

  /** The path of a data file of the stack's, as `DATA_FILES` names it: `stack.dataFile('notification.db')`. */
  dataFile(name: string): string {
    return join(this.runDir, name);
  }

  private launchService(service: ServiceName, extraEnv: NodeJS.ProcessEnv = {}): ManagedProcess {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...Object.fromEntries(
        Object.entries(DATA_FILES[service] ?? {}).map(([variable, file]) => [variable, this.dataFile(file)]),
      ),
      ...this.options.serviceEnv?.[service],
      ...extraEnv,
      OTEL_SERVICE_NAME: service,
      // Set here, not left to each service's default: the stack polls and prints these very ports, and one PORT
      // in the caller's shell would otherwise give all six the same one.
      PORT: String(SERVICE_PORTS[service]),
    };
    const output: Output =
      this.options.output === 'terminal'
        ? { kind: 'terminal', prefix: '' }
        : { kind: 'file', path: join(this.runDir, `${service}.log`) };
    const child = ManagedProcess.start(service, process.execPath, SERVICE_NODE_ARGS, {
      cwd: join(REPO_ROOT, 'services', service),
      env,
      output,
    });
    this.services.set(service, child);
    void child.exited.then(() => this.restartIfCrashed(service, child, extraEnv));
    return child;
  }

  /** The supervisor: restarts a service that exited though nobody stopped it, and says how it ended. */
  private restartIfCrashed(service: ServiceName, child: ManagedProcess, extraEnv: NodeJS.ProcessEnv): void {
    if (child.stopRequested || this.stopping || this.services.get(service) !== child) return;
    const previous = this.restarts.get(service)?.delayMs;
    const ranLong = Date.now() - child.startedAt >= RESTART_DELAY.resetAfterMs;
    const delayMs =
      previous === undefined || ranLong ? RESTART_DELAY.firstMs : Math.min(previous * 2, RESTART_DELAY.maxMs);
    this.progress(`${service} exited (${child.exitStatus}); restarting it in ${delayMs / 1000} s`);
    const timer = setTimeout(() => {
      this.restarts.set(service, { delayMs });
      this.launchService(service, extraEnv);
    }, delayMs);
    this.restarts.set(service, { delayMs, timer });
  }

  private cancelRestart(service: ServiceName): void {
    clearTimeout(this.restarts.get(service)?.timer);
    this.restarts.delete(service);
  }

  private async waitUntilReady(service: ServiceName): Promise<void> {
    await this.waitOrExit(this.services.get(service)!, `${service} to be ready`, () => this.answersReady(service));
  }

  /** Starts a service (again), with extra environment, and waits until it is ready. */
  async startService(service: ServiceName, extraEnv: NodeJS.ProcessEnv = {}): Promise<void> {
    if (this.services.get(service)?.running) throw new Error(`${service} is already running`);
    this.cancelRestart(service);
    this.launchService(service, extraEnv);
    await this.waitUntilReady(service);
  }

  /**
   * SIGKILL, as in a crash: the service gets no chance to finish or commit anything. The supervisor then starts
   * it again; `untilReady` waits for that.
   */
  async killService(service: ServiceName): Promise<void> {
    const child = this.services.get(service);
    child?.crash();
    await child?.exited;
  }

  /** Waits until a service answers ready, through any restarts on the way. */
  async untilReady(service: ServiceName): Promise<void> {
    await waitFor(`${service} to be ready`, () => this.answersReady(service), READY_TIMEOUT_MS);
  }

  private async answersReady(service: ServiceName): Promise<boolean> {
    const response = await fetch(`${this.url(service)}/readyz`);
    return response.ok;
  }

  /** The process id of a running service, e.g. to read its memory from /proc. */
  servicePid(service: ServiceName): number | undefined {
    return this.services.get(service)?.pid;
  }

  /** The process id of the broker or Jaeger, when this stack runs it: `pnpm bench` reads their CPU time. */
  infraPid(name: 'kafka' | 'jaeger'): number | undefined {
    return this[name]?.pid;
  }

  async stopService(service: ServiceName): Promise<number | null> {
    this.cancelRestart(service);
    const child = this.services.get(service);
    await child?.stop();
    return child ? child.exited : null;
  }

  /** Stops the services, then the broker and Jaeger, which the services flush their last spans to. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const service of SERVICES) this.cancelRestart(service);
    await Promise.all([...this.services.values()].map((child) => child.stop()));
    // The collector first: it sends what it still holds to Kafka.
    await this.collector?.stop();
    await Promise.all([this.jaeger?.stop(), this.zipkin?.stop()]);
    await this.kafka?.stop(30_000);
    process.off('exit', this.killNow);
  }

  /** For `process.on('exit')`, where nothing can be awaited: whatever still runs dies with the process. */
  private readonly killNow = (): void => {
    for (const child of [...this.services.values(), this.kafka, this.jaeger, this.collector, this.zipkin]) {
      child?.killNow();
    }
  };

  private kafkaFile(name: string): string {
    return join(this.runDir, 'kafka', name);
  }

  private kafkaJava(): string[] {
    return ['-cp', join(this.kafkaJars!, '*')];
  }

  /** Waits for `check`, but gives up at once, with the end of its log, if the process exits meanwhile. */
  private async waitOrExit(child: ManagedProcess, what: string, check: () => Promise<boolean>): Promise<void> {
    const exited = child.exited.then(async (code) => {
      const log = await readFile(join(this.runDir, `${child.name}.log`), 'utf8').catch(() => '');
      throw new Error(
        `${child.name} exited (code ${code}) while waiting for ${what}\n${log.split('\n').slice(-15).join('\n')}`,
      );
    });
    await Promise.race([waitFor(what, check, READY_TIMEOUT_MS), exited]);
    exited.catch(() => {});
  }
}

/**
 * A random Kafka cluster id: 16 bytes in URL-safe base64. Like Kafka's own `Uuid.randomUuid`, it never starts with
 * '-', which the storage tool's command line would take for an option.
 */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function tracePipelineOf(value = 'direct'): TracePipeline {
  if (value === 'direct' || value === 'kafka') return value;
  throw new SetupError(`TRACE_PIPELINE must be direct or kafka, not ${value}`);
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

async function kafkaAnswers(brokers: string[]): Promise<boolean> {
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
  try {
    await admin.connect();
    await admin.describeCluster();
    return true;
  } finally {
    await admin.disconnect();
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.once('connect', () => done(true)).once('error', () => done(false));
    socket.setTimeout(1000, () => done(false));
  });
}

async function assertPortsFree(ports: number[]): Promise<void> {
  const taken = [];
  for (const port of ports) if (await portOpen(port)) taken.push(port);
  if (taken.length > 0) {
    throw new SetupError(
      `port ${taken.join(', ')} already in use. Is another \`pnpm start\` (or a Kafka, Jaeger or service) running? ` +
        'Stop it, or point KAFKA_BROKERS / OTEL_EXPORTER_OTLP_ENDPOINT at the Kafka / Jaeger already running.',
    );
  }
}
