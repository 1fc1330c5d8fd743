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

/** At most this many Kafka nodes natively: three make a quorum that survives one loss. */
const MAX_KAFKA_NODES = 3;
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
  inventory: { INVENTORY_DB: 'inventory.db' },
  billing: { BILLING_DB: 'billing.db' },
  delivery: { DELIVERY_DB: 'delivery.db' },
  eshop: { OUTBOX_DB: 'outbox.db' },
  notification: { NOTIFICATION_DB: 'notification.db' },
};
/** The supervisor's wait before restarting a service, doubled while it keeps exiting soon after each start. */
const RESTART_DELAY = { firstMs: 1000, maxMs: 30_000, resetAfterMs: 60_000 };

/**
 * One node of the native Kafka cluster, a broker and a controller in one process. Node n (1, 2, 3) has its
 * broker on 9090 + 2n and its controller on 9091 + 2n: 9092/9093, 9094/9095, 9096/9097.
 */
export interface KafkaNode {
  id: number;
  brokerPort: number;
  controllerPort: number;
}

export function kafkaNodes(count: number): KafkaNode[] {
  return Array.from({ length: count }, (_, index) => ({
    id: index + 1,
    brokerPort: 9092 + 2 * index,
    controllerPort: 9093 + 2 * index,
  }));
}

/** How the topics are kept with `brokers` nodes: three copies at most, two in sync once there are three. */
export function replication(brokers: number): { factor: number; minInSync: number } {
  return { factor: Math.min(3, brokers), minInSync: brokers >= 3 ? 2 : 1 };
}

/** A whole number from the environment within [1, max], or the default when unset. */
function countFromEnv(name: string, max: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return 1;
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1 || count > max) {
    throw new SetupError(`${name}=${value}: give a whole number from 1 to ${max}`);
  }
  return count;
}

export interface StackOptions {
  /** `terminal`: the services' JSON log lines go to stdout; `files`: each process logs to `<runDir>/<name>.log`. */
  output: 'terminal' | 'files';
  /** Logs and broker data; emptied at start. */
  runDir?: string;
  /** Extra environment for one service, on top of the inherited environment. */
  serviceEnv?: Partial<Record<ServiceName, NodeJS.ProcessEnv>>;
  /** The services to start with the stack, all six unless told; `startService` starts the others later. */
  services?: readonly ServiceName[];
  /** Kafka nodes to run (KAFKA_BROKER_COUNT, default 1), each a broker and a controller. */
  kafkaNodes?: number;
  /** kafka-consumer processes in the one group (KAFKA_CONSUMER_INSTANCES, default 1), on 8085, 8086, ... */
  consumerInstances?: number;
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
  readonly kafkaNodes: KafkaNode[];
  readonly kafkaBrokers: string[];
  readonly consumerInstances: number;
  readonly tracePipeline: TracePipeline;
  private readonly runDir: string;
  private readonly progress: Progress;
  /** The services' processes by process name: the service's, or `kafka-consumer-2` for a further instance. */
  private readonly services = new Map<string, ManagedProcess>();
  private readonly restarts = new Map<string, { delayMs: number; timer?: NodeJS.Timeout }>();
  private stopping = false;
  private readonly kafka = new Map<number, ManagedProcess>();
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
    this.kafkaNodes = kafkaNodes(options.kafkaNodes ?? countFromEnv('KAFKA_BROKER_COUNT', MAX_KAFKA_NODES));
    this.kafkaBrokers = (
      process.env.KAFKA_BROKERS ?? this.kafkaNodes.map((node) => `127.0.0.1:${node.brokerPort}`).join(',')
    )
      .split(',')
      .map((broker) => broker.trim());
    this.consumerInstances = options.consumerInstances ?? countFromEnv('KAFKA_CONSUMER_INSTANCES', 10);
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

  /** Where a service answers; `instance` counts from 1, and only kafka-consumer runs more than one. */
  url(service: ServiceName, instance = 1): string {
    return `http://localhost:${portOf(service, instance)}`;
  }

  /** Every service process the stack runs, with its name and where it answers. */
  get endpoints(): { name: string; url: string }[] {
    return SERVICES.flatMap((service) =>
      this.instancesOf(service).map((instance) => ({
        name: processName(service, instance),
        url: this.url(service, instance),
      })),
    );
  }

  /** The processes of a service: kafka-consumer, kafka-consumer-2, ... for the consumer's instances. */
  private instancesOf(service: ServiceName): number[] {
    return Array.from({ length: service === 'kafka-consumer' ? this.consumerInstances : 1 }, (_, index) => index + 1);
  }

  private async startAll(): Promise<void> {
    await assertPortsFree([
      ...SERVICES.flatMap((service) => this.instancesOf(service).map((instance) => portOf(service, instance))),
      ...(this.ownsKafka ? this.kafkaNodes.flatMap((node) => [node.brokerPort, node.controllerPort]) : []),
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
    const processes = services.flatMap((service) =>
      this.instancesOf(service).map((instance) => ({ service, instance })),
    );
    for (const { service, instance } of processes) this.launchService(service, instance);
    await Promise.all(processes.map(({ service, instance }) => this.waitUntilReady(service, instance)));
  }

  /** KRaft needs each node's storage formatted, with the one cluster id, before the first start. */
  private async formatKafkaStorage(): Promise<void> {
    const template = await readFile(join(REPO_ROOT, 'scripts', 'kafka', 'server.properties'), 'utf8');
    const { factor, minInSync } = replication(this.kafkaNodes.length);
    const settings: Record<string, string> = {
      VOTERS: this.kafkaNodes.map((node) => `${node.id}@127.0.0.1:${node.controllerPort}`).join(','),
      REPLICATION_FACTOR: String(factor),
      MIN_INSYNC_REPLICAS: String(minInSync),
    };
    const clusterId = newClusterId();
    for (const node of this.kafkaNodes) {
      const nodeSettings: Record<string, string> = {
        ...settings,
        NODE_ID: String(node.id),
        BROKER_PORT: String(node.brokerPort),
        CONTROLLER_PORT: String(node.controllerPort),
        DATA_DIR: this.kafkaFile(node, 'data'),
      };
      await mkdir(this.kafkaFile(node, 'data'), { recursive: true });
      await writeFile(
        this.kafkaFile(node, 'server.properties'),
        template.replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => {
          if (nodeSettings[name] === undefined) throw new Error(`server.properties: no value for \${${name}}`);
          return nodeSettings[name];
        }),
      );
      await run('java', [
        ...this.kafkaJava(),
        'kafka.tools.StorageTool',
        'format',
        '-t',
        clusterId,
        '-c',
        this.kafkaFile(node, 'server.properties'),
      ]);
    }
  }

  /**
   * Starts the Kafka nodes on their existing storage, all at once (a node waits for a quorum of controllers),
   * and waits until every broker has joined the cluster.
   */
  async startKafka(): Promise<void> {
    if (!this.kafkaJars) throw new Error('this stack does not own Kafka');
    const brokers = this.kafkaNodes.map((node) => `127.0.0.1:${node.brokerPort}`).join(', ');
    this.progress(
      `starting Kafka: ${this.kafkaNodes.length === 1 ? 'one node' : `${this.kafkaNodes.length} nodes`} on ${brokers}`,
    );
    for (const node of this.kafkaNodes) this.launchKafkaNode(node);
    await Promise.all(
      this.kafkaNodes.map((node) =>
        this.waitOrExit(this.kafka.get(node.id)!, 'Kafka to accept clients', () =>
          kafkaAnswers(this.kafkaBrokers, this.kafkaNodes.length),
        ),
      ),
    );
  }

  /** Stops every node (a controlled shutdown each) and keeps their data, for a later `startKafka`. */
  async stopKafka(): Promise<void> {
    await Promise.all([...this.kafka.values()].map((node) => node.stop(30_000)));
  }

  /** Stops one node cleanly: it hands its partitions' leadership over before it exits. */
  async stopKafkaNode(id: number): Promise<void> {
    await this.kafka.get(id)?.stop(30_000);
  }

  /** SIGKILL for one node, as a crash or a lost machine: no controlled shutdown, no handover. */
  async killKafkaNode(id: number): Promise<void> {
    const node = this.kafka.get(id);
    node?.crash();
    await node?.exited;
  }

  /** Starts one stopped node again on its data, and waits until the cluster has all its brokers back. */
  async startKafkaNode(id: number): Promise<void> {
    const node = this.kafkaNodes.find((candidate) => candidate.id === id);
    if (!node || !this.kafkaJars) throw new Error(`this stack has no Kafka node ${id}`);
    if (this.kafka.get(id)?.running) throw new Error(`Kafka node ${id} is already running`);
    this.launchKafkaNode(node);
    // Asked on its own port: the others may still list it from before it went.
    await this.waitOrExit(this.kafka.get(id)!, `Kafka node ${id} to rejoin`, () =>
      kafkaAnswers([`127.0.0.1:${node.brokerPort}`], this.kafkaNodes.length),
    );
  }

  private launchKafkaNode(node: KafkaNode): void {
    const name = this.kafkaNodeName(node);
    this.kafka.set(
      node.id,
      ManagedProcess.start(
        name,
        'java',
        [
          '-Xmx512m',
          `-Dlog4j.configuration=file:${join(REPO_ROOT, 'scripts', 'kafka', 'log4j.properties')}`,
          ...this.kafkaJava(),
          'kafka.Kafka',
          this.kafkaFile(node, 'server.properties'),
        ],
        { output: { kind: 'file', path: this.logFile(name) } },
      ),
    );
  }

  /** `kafka` for a single node, as before clusters; `kafka-1`, `kafka-2`, ... in a cluster. */
  private kafkaNodeName(node: KafkaNode): string {
    return this.kafkaNodes.length === 1 ? 'kafka' : `kafka-${node.id}`;
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

  /** The log of a process the stack runs (with `output: 'files'`): `kafka-consumer-2`, `kafka-1`, `jaeger`, ... */
  logFile(name: string): string {
    return join(this.runDir, `${name}.log`);
  }

  /** The path of a data file of the stack's, as `DATA_FILES` names it: `stack.dataFile('notification.db')`. */
  dataFile(name: string): string {
    return join(this.runDir, name);
  }

  private launchService(service: ServiceName, instance: number, extraEnv: NodeJS.ProcessEnv = {}): ManagedProcess {
    const name = processName(service, instance);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...(this.ownsKafka ? { KAFKA_BROKERS: this.kafkaBrokers.join(',') } : {}),
      ...Object.fromEntries(
        Object.entries(DATA_FILES[service] ?? {}).map(([variable, file]) => [variable, this.dataFile(file)]),
      ),
      // The storefront links traces to Zipkin's UI, the native trace UI, when spans go there too.
      ...(service === 'eshop' && this.zipkin ? { ZIPKIN_UI_URL: ZIPKIN_URL.replace(/\/$/, '') } : {}),
      ...this.options.serviceEnv?.[service],
      ...extraEnv,
      OTEL_SERVICE_NAME: service,
      // Which process made a span: kafka-consumer-2's spans say so, in one trace with kafka-consumer's.
      OTEL_RESOURCE_ATTRIBUTES: [process.env.OTEL_RESOURCE_ATTRIBUTES, `service.instance.id=${name}`]
        .filter(Boolean)
        .join(','),
      // Set here, not left to each service's default: the stack polls and prints these very ports, and one PORT
      // in the caller's shell would otherwise give all six the same one.
      PORT: String(portOf(service, instance)),
    };
    const output: Output =
      this.options.output === 'terminal'
        ? { kind: 'terminal', prefix: '' }
        : { kind: 'file', path: this.logFile(name) };
    const child = ManagedProcess.start(name, process.execPath, SERVICE_NODE_ARGS, {
      cwd: join(REPO_ROOT, 'services', service),
      env,
      output,
    });
    this.services.set(name, child);
    void child.exited.then(() => this.restartIfCrashed(service, instance, child, extraEnv));
    return child;
  }

  /** The supervisor: restarts a service that exited though nobody stopped it, and says how it ended. */
  private restartIfCrashed(
    service: ServiceName,
    instance: number,
    child: ManagedProcess,
    extraEnv: NodeJS.ProcessEnv,
  ): void {
    const name = processName(service, instance);
    if (child.stopRequested || this.stopping || this.services.get(name) !== child) return;
    const previous = this.restarts.get(name)?.delayMs;
    const ranLong = Date.now() - child.startedAt >= RESTART_DELAY.resetAfterMs;
    const delayMs =
      previous === undefined || ranLong ? RESTART_DELAY.firstMs : Math.min(previous * 2, RESTART_DELAY.maxMs);
    this.progress(`${name} exited (${child.exitStatus}); restarting it in ${delayMs / 1000} s`);
    const timer = setTimeout(() => {
      this.restarts.set(name, { delayMs });
      this.launchService(service, instance, extraEnv);
    }, delayMs);
    this.restarts.set(name, { delayMs, timer });
  }

  private cancelRestart(name: string): void {
    clearTimeout(this.restarts.get(name)?.timer);
    this.restarts.delete(name);
  }

  private async waitUntilReady(service: ServiceName, instance = 1): Promise<void> {
    await this.waitOrExit(
      this.services.get(processName(service, instance))!,
      `${processName(service, instance)} to be ready`,
      () => this.answersReady(service, instance),
    );
  }

  /** Starts a service (again), with extra environment, and waits until it is ready. */
  async startService(service: ServiceName, extraEnv: NodeJS.ProcessEnv = {}, instance = 1): Promise<void> {
    const name = processName(service, instance);
    if (this.services.get(name)?.running) throw new Error(`${name} is already running`);
    this.cancelRestart(name);
    this.launchService(service, instance, extraEnv);
    await this.waitUntilReady(service, instance);
  }

  /**
   * SIGKILL, as in a crash: the service gets no chance to finish or commit anything. The supervisor then starts
   * it again; `untilReady` waits for that.
   */
  async killService(service: ServiceName, instance = 1): Promise<void> {
    const child = this.services.get(processName(service, instance));
    child?.crash();
    await child?.exited;
  }

  /** Waits until a service answers ready, through any restarts on the way. */
  async untilReady(service: ServiceName, instance = 1): Promise<void> {
    await waitFor(
      `${processName(service, instance)} to be ready`,
      () => this.answersReady(service, instance),
      READY_TIMEOUT_MS,
    );
  }

  private async answersReady(service: ServiceName, instance = 1): Promise<boolean> {
    const response = await fetch(`${this.url(service, instance)}/readyz`);
    return response.ok;
  }

  /** The process id of a running service, e.g. to read its memory from /proc. */
  servicePid(service: ServiceName, instance = 1): number | undefined {
    return this.services.get(processName(service, instance))?.pid;
  }

  /** The process ids of the Kafka nodes and of Jaeger that this stack runs: `pnpm bench` reads their CPU time. */
  infraPids(): { kafka: number[]; jaeger: number[] } {
    const pids = (children: (ManagedProcess | undefined)[]) =>
      children.flatMap((child) => (child?.pid === undefined ? [] : [child.pid]));
    return { kafka: pids([...this.kafka.values()]), jaeger: pids([this.jaeger]) };
  }

  async stopService(service: ServiceName, instance = 1): Promise<number | null> {
    const name = processName(service, instance);
    this.cancelRestart(name);
    const child = this.services.get(name);
    await child?.stop();
    return child ? child.exited : null;
  }

  /** Stops the services, then the broker and Jaeger, which the services flush their last spans to. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const name of this.restarts.keys()) this.cancelRestart(name);
    await Promise.all([...this.services.values()].map((child) => child.stop()));
    // The collector first: it sends what it still holds to Kafka.
    await this.collector?.stop();
    await Promise.all([this.jaeger?.stop(), this.zipkin?.stop()]);
    await this.stopKafka();
    process.off('exit', this.killNow);
  }

  /** For `process.on('exit')`, where nothing can be awaited: whatever still runs dies with the process. */
  private readonly killNow = (): void => {
    for (const child of [...this.services.values(), ...this.kafka.values(), this.jaeger, this.collector, this.zipkin]) {
      child?.killNow();
    }
  };

  private kafkaFile(node: KafkaNode, name: string): string {
    return join(this.runDir, this.kafkaNodeName(node), name);
  }

  private kafkaJava(): string[] {
    return ['-cp', join(this.kafkaJars!, '*')];
  }

  /** Waits for `check`, but gives up at once, with the end of its log, if the process exits meanwhile. */
  private async waitOrExit(child: ManagedProcess, what: string, check: () => Promise<boolean>): Promise<void> {
    const exited = child.exited.then(async (code) => {
      const log = await readFile(this.logFile(child.name), 'utf8').catch(() => '');
      throw new Error(
        `${child.name} exited (code ${code}) while waiting for ${what}\n${log.split('\n').slice(-15).join('\n')}`,
      );
    });
    await Promise.race([waitFor(what, check, READY_TIMEOUT_MS), exited]);
    exited.catch(() => {});
  }
}

/** `kafka-consumer` for the first instance, `kafka-consumer-2` for the second, and so on. */
function processName(service: ServiceName, instance: number): string {
  return instance === 1 ? service : `${service}-${instance}`;
}

function portOf(service: ServiceName, instance: number): number {
  return SERVICE_PORTS[service] + instance - 1;
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

/** Whether the cluster answers with all `count` brokers registered. */
async function kafkaAnswers(brokers: string[], count: number): Promise<boolean> {
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
  try {
    await admin.connect();
    return (await admin.describeCluster()).brokers.length >= count;
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
