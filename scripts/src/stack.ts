import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { KafkaCluster, kafkaNodes, MAX_KAFKA_NODES, type KafkaNode } from './kafka-nodes';
import { CACHE_DIR, JAEGER_QUERY_URL, REPO_ROOT } from './paths';
import { assertPortsFree, ManagedProcess, READY_TIMEOUT_MS, SetupError, waitFor, type Output } from './processes';
import { ensureJaegerBinary, ensureKafkaJars, ensureZipkinJar, type Progress } from './provision';
import { portOf, processName, SERVICE_NODE_ARGS, serviceEnv, SERVICES, type ServiceName } from './services';
import { Supervisor } from './supervisor';
import { TRACE_BACKEND_PORTS, TraceBackends, tracePipelineOf, ZIPKIN_URL, type TracePipeline } from './trace-backends';

export { kafkaNodes, newClusterId, replication, type KafkaNode } from './kafka-nodes';
export { REGISTRY, SERVICE_NODE_ARGS, SERVICES, type ServiceName } from './services';
export { ZIPKIN_URL, type TracePipeline } from './trace-backends';

/**
 * The interface every process of the native stack listens on: loopback, so that nothing it runs (the services'
 * `/emails` and `/refund`, Jaeger's traces, Kafka) is open to the network, unless LISTEN_HOST says otherwise.
 */
export const LISTEN_HOST = process.env.LISTEN_HOST ?? '127.0.0.1';

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
 * The whole demo on this machine: a Kafka cluster and the trace backends (unless `KAFKA_BROKERS` or
 * `OTEL_EXPORTER_OTLP_ENDPOINT` point elsewhere) and the six services, each started as the registry
 * (./services.ts) says, under a supervisor that restarts a crashed one. `pnpm start`, the bench and the
 * end-to-end tests share it; the tests also stop, kill and restart its parts through it.
 */
export class Stack {
  readonly jaegerQueryUrl = JAEGER_QUERY_URL;
  readonly kafkaNodes: KafkaNode[];
  readonly kafkaBrokers: string[];
  readonly consumerInstances: number;
  readonly tracePipeline: TracePipeline;
  private readonly runDir: string;
  private readonly progress: Progress;
  private readonly supervisor: Supervisor;
  private kafka?: KafkaCluster;
  private traceBackends?: TraceBackends;

  private constructor(private readonly options: StackOptions) {
    this.runDir = options.runDir ?? join(CACHE_DIR, 'run');
    this.progress = options.progress ?? (() => {});
    this.supervisor = new Supervisor(this.progress);
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
      ...(this.ownsJaeger ? TRACE_BACKEND_PORTS[this.tracePipeline] : []),
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
      this.kafka = new KafkaCluster(this.kafkaNodes, jars, this.runDir, LISTEN_HOST, this.progress);
      await this.kafka.format();
      await this.kafka.start();
    }
    if (jaegerBinary) {
      this.traceBackends = new TraceBackends({
        pipeline: this.tracePipeline,
        jaegerBinary,
        zipkinJar,
        kafkaBrokers: this.kafkaBrokers,
        runDir: this.runDir,
        listenHost: LISTEN_HOST,
        progress: this.progress,
      });
      await this.traceBackends.start();
    }
    const services = this.options.services ?? SERVICES;
    const processes = services.flatMap((service) =>
      this.instancesOf(service).map((instance) => ({ service, instance })),
    );
    for (const { service, instance } of processes) this.superviseService(service, instance);
    await Promise.all(processes.map(({ service, instance }) => this.waitUntilReady(service, instance)));
  }

  /** Starts the Kafka nodes again on their data, after `stopKafka`. */
  async startKafka(): Promise<void> {
    if (!this.kafka) throw new Error('this stack does not own Kafka');
    await this.kafka.start();
  }

  /** Stops every node (a controlled shutdown each) and keeps their data, for a later `startKafka`. */
  async stopKafka(): Promise<void> {
    await this.kafka?.stop();
  }

  /** Stops one node cleanly: it hands its partitions' leadership over before it exits. */
  async stopKafkaNode(id: number): Promise<void> {
    await this.kafka?.stopNode(id);
  }

  /** SIGKILL for one node, as a crash or a lost machine: no controlled shutdown, no handover. */
  async killKafkaNode(id: number): Promise<void> {
    await this.kafka?.killNode(id);
  }

  /** Starts one stopped node again on its data, and waits until the cluster has all its brokers back. */
  async startKafkaNode(id: number): Promise<void> {
    if (!this.kafka) throw new Error(`this stack has no Kafka node ${id}`);
    await this.kafka.startNode(id);
  }

  /** Starts Jaeger again (with no traces: its storage is in memory) and waits for it. */
  async startJaeger(): Promise<void> {
    if (!this.traceBackends) throw new Error('this stack does not own a Jaeger');
    await this.traceBackends.startJaeger();
  }

  async stopJaeger(): Promise<void> {
    await this.traceBackends?.stopJaeger();
  }

  /** The log of a process the stack runs (with `output: 'files'`): `kafka-consumer-2`, `kafka-1`, `jaeger`, ... */
  logFile(name: string): string {
    return join(this.runDir, `${name}.log`);
  }

  /** The path of a data file of the stack's, as the registry names it: `stack.dataFile('notification.db')`. */
  dataFile(name: string): string {
    return join(this.runDir, name);
  }

  private superviseService(service: ServiceName, instance: number, extraEnv: NodeJS.ProcessEnv = {}): void {
    const name = processName(service, instance);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...(this.ownsKafka ? { KAFKA_BROKERS: this.kafkaBrokers.join(',') } : {}),
      // The storefront links traces to Zipkin's UI, the native trace UI, when spans go there too.
      ...(service === 'eshop' && this.traceBackends?.pipeline === 'kafka'
        ? { ZIPKIN_UI_URL: ZIPKIN_URL.replace(/\/$/, '') }
        : {}),
      ...this.options.serviceEnv?.[service],
      ...extraEnv,
      ...serviceEnv(service, instance, { dataDir: this.runDir, listenHost: LISTEN_HOST }),
    };
    const output: Output =
      this.options.output === 'terminal'
        ? { kind: 'terminal', prefix: '' }
        : { kind: 'file', path: this.logFile(name) };
    this.supervisor.start(name, () =>
      ManagedProcess.start(name, process.execPath, SERVICE_NODE_ARGS, {
        cwd: join(REPO_ROOT, 'services', service),
        env,
        output,
      }),
    );
  }

  private async waitUntilReady(service: ServiceName, instance = 1): Promise<void> {
    const name = processName(service, instance);
    await this.supervisor.get(name)!.whileRunning(`${name} to be ready`, () => this.answersReady(service, instance));
  }

  /** Starts a service (again), with extra environment, and waits until it is ready. */
  async startService(service: ServiceName, extraEnv: NodeJS.ProcessEnv = {}, instance = 1): Promise<void> {
    const name = processName(service, instance);
    if (this.supervisor.get(name)?.running) throw new Error(`${name} is already running`);
    this.superviseService(service, instance, extraEnv);
    await this.waitUntilReady(service, instance);
  }

  /**
   * SIGKILL, as in a crash: the service gets no chance to finish or commit anything. The supervisor then starts
   * it again; `untilReady` waits for that.
   */
  async killService(service: ServiceName, instance = 1): Promise<void> {
    const child = this.supervisor.get(processName(service, instance));
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
    return this.supervisor.get(processName(service, instance))?.pid;
  }

  /** The process ids of the Kafka nodes and of Jaeger that this stack runs: `pnpm bench` reads their CPU time. */
  infraPids(): { kafka: number[]; jaeger: number[] } {
    return { kafka: this.kafka?.pids ?? [], jaeger: this.traceBackends?.jaegerPids ?? [] };
  }

  /** Every process the stack runs now: the services, the Kafka nodes and the trace backends. */
  get pids(): number[] {
    return [...this.supervisor.pids, ...(this.kafka?.pids ?? []), ...(this.traceBackends?.pids ?? [])];
  }

  async stopService(service: ServiceName, instance = 1): Promise<number | null> {
    return this.supervisor.stop(processName(service, instance));
  }

  /** Stops the services, then the trace backends and Kafka, which the services flush their last spans to. */
  async stop(): Promise<void> {
    await this.supervisor.stopAll();
    await this.traceBackends?.stop();
    await this.stopKafka();
    process.off('exit', this.killNow);
  }

  /** For `process.on('exit')`, where nothing can be awaited: whatever still runs dies with the process. */
  private readonly killNow = (): void => {
    this.supervisor.killNow();
    this.kafka?.killNow();
    this.traceBackends?.killNow();
  };
}
