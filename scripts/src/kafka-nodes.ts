import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { REPO_ROOT } from './paths';
import { ManagedProcess, pidsOf, run } from './processes';
import type { Progress } from './provision';

/**
 * One node of the native Kafka cluster, a broker and a controller in one process. Node n (1, 2, 3) has its
 * broker on 9090 + 2n and its controller on 9091 + 2n: 9092/9093, 9094/9095, 9096/9097.
 */
export interface KafkaNode {
  id: number;
  brokerPort: number;
  controllerPort: number;
}

/** At most this many Kafka nodes natively: three make a quorum that survives one loss. */
export const MAX_KAFKA_NODES = 3;

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

/**
 * The native Kafka cluster: its nodes' processes, their settings and data under `runDir`, and the failures the
 * end-to-end tests inject (a node stopped cleanly, or killed).
 */
export class KafkaCluster {
  private readonly processes = new Map<number, ManagedProcess>();

  constructor(
    readonly nodes: KafkaNode[],
    private readonly jars: string,
    private readonly runDir: string,
    /** The interface the nodes listen on; they advertise 127.0.0.1 to clients whatever it is. */
    private readonly listenHost: string,
    private readonly progress: Progress,
  ) {}

  get brokers(): string[] {
    return this.nodes.map((node) => `127.0.0.1:${node.brokerPort}`);
  }

  get pids(): number[] {
    return pidsOf([...this.processes.values()]);
  }

  /** KRaft needs each node's storage formatted, with the one cluster id, before the first start. */
  async format(): Promise<void> {
    const template = await readFile(join(REPO_ROOT, 'scripts', 'kafka', 'server.properties'), 'utf8');
    const { factor, minInSync } = replication(this.nodes.length);
    const settings: Record<string, string> = {
      VOTERS: this.nodes.map((node) => `${node.id}@127.0.0.1:${node.controllerPort}`).join(','),
      REPLICATION_FACTOR: String(factor),
      MIN_INSYNC_REPLICAS: String(minInSync),
      LISTEN_HOST: this.listenHost,
    };
    const clusterId = newClusterId();
    for (const node of this.nodes) {
      const nodeSettings: Record<string, string> = {
        ...settings,
        NODE_ID: String(node.id),
        BROKER_PORT: String(node.brokerPort),
        CONTROLLER_PORT: String(node.controllerPort),
        DATA_DIR: this.file(node, 'data'),
      };
      await mkdir(this.file(node, 'data'), { recursive: true });
      await writeFile(
        this.file(node, 'server.properties'),
        template.replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => {
          if (nodeSettings[name] === undefined) throw new Error(`server.properties: no value for \${${name}}`);
          return nodeSettings[name];
        }),
      );
      await run('java', [
        ...this.java(),
        'kafka.tools.StorageTool',
        'format',
        '-t',
        clusterId,
        '-c',
        this.file(node, 'server.properties'),
      ]);
    }
  }

  /**
   * Starts the nodes on their existing storage, all at once (a node waits for a quorum of controllers), and waits
   * until every broker has joined the cluster.
   */
  async start(): Promise<void> {
    const count = this.nodes.length;
    this.progress(`starting Kafka: ${count === 1 ? 'one node' : `${count} nodes`} on ${this.brokers.join(', ')}`);
    for (const node of this.nodes) this.launch(node);
    await Promise.all(
      this.nodes.map((node) =>
        this.processes.get(node.id)!.whileRunning('Kafka to accept clients', () => kafkaAnswers(this.brokers, count)),
      ),
    );
  }

  /** Stops every node (a controlled shutdown each) and keeps their data, for a later `start`. */
  async stop(): Promise<void> {
    await Promise.all([...this.processes.values()].map((node) => node.stop(30_000)));
  }

  /** Stops one node cleanly: it hands its partitions' leadership over before it exits. */
  async stopNode(id: number): Promise<void> {
    await this.processes.get(id)?.stop(30_000);
  }

  /** SIGKILL for one node, as a crash or a lost machine: no controlled shutdown, no handover. */
  async killNode(id: number): Promise<void> {
    const node = this.processes.get(id);
    node?.crash();
    await node?.exited;
  }

  /** Starts one stopped node again on its data, and waits until the cluster has all its brokers back. */
  async startNode(id: number): Promise<void> {
    const node = this.nodes.find((candidate) => candidate.id === id);
    if (!node) throw new Error(`this stack has no Kafka node ${id}`);
    if (this.processes.get(id)?.running) throw new Error(`Kafka node ${id} is already running`);
    this.launch(node);
    // Asked on its own port: the others may still list it from before it went.
    await this.processes
      .get(id)!
      .whileRunning(`Kafka node ${id} to rejoin`, () =>
        kafkaAnswers([`127.0.0.1:${node.brokerPort}`], this.nodes.length),
      );
  }

  /** For `process.on('exit')`, where nothing can be awaited. */
  killNow(): void {
    for (const child of this.processes.values()) child.killNow();
  }

  private launch(node: KafkaNode): void {
    const name = this.nameOf(node);
    this.processes.set(
      node.id,
      ManagedProcess.start(
        name,
        'java',
        [
          '-Xmx512m',
          `-Dlog4j.configuration=file:${join(REPO_ROOT, 'scripts', 'kafka', 'log4j.properties')}`,
          ...this.java(),
          'kafka.Kafka',
          this.file(node, 'server.properties'),
        ],
        { output: { kind: 'file', path: join(this.runDir, `${name}.log`) } },
      ),
    );
  }

  /** `kafka` for a single node, as before clusters; `kafka-1`, `kafka-2`, ... in a cluster. */
  private nameOf(node: KafkaNode): string {
    return this.nodes.length === 1 ? 'kafka' : `kafka-${node.id}`;
  }

  private file(node: KafkaNode, name: string): string {
    return join(this.runDir, this.nameOf(node), name);
  }

  private java(): string[] {
    return ['-cp', join(this.jars, '*')];
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
