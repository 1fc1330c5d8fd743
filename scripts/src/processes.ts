import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

/** A prerequisite that is missing or in the way: its message says what to do, and is all that is printed. */
export class SetupError extends Error {
  override readonly name = 'SetupError';
}

export type Output = { kind: 'file'; path: string } | { kind: 'terminal'; prefix: string };

/** How long a process of the stack may take to answer after its start. */
export const READY_TIMEOUT_MS = 90_000;

/** A child process of the stack, stopped by signal and awaited. */
export class ManagedProcess {
  /** Its exit code, or null when a signal ended it. */
  readonly exited: Promise<number | null>;
  readonly startedAt = Date.now();
  private stopAsked = false;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    /** The file its output goes to, if not the terminal. */
    readonly logPath?: string,
  ) {
    this.exited = once(child, 'exit').then(([code]) => code as number | null);
  }

  static start(
    name: string,
    command: string,
    args: string[],
    options: SpawnOptions & { output: Output },
  ): ManagedProcess {
    const child = spawn(command, args, {
      ...options,
      // Its own process group: a Ctrl-C in the terminal reaches only the orchestrator, which then stops
      // everything in order (services before the broker they flush to).
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const { output } = options;
    if (output.kind === 'file') {
      const file = createWriteStream(output.path, { flags: 'a' });
      child.stdout.pipe(file);
      child.stderr.pipe(file);
    } else {
      for (const stream of [child.stdout, child.stderr]) {
        createInterface({ input: stream }).on('line', (line) => process.stdout.write(`${output.prefix}${line}\n`));
      }
    }
    return new ManagedProcess(name, child, output.kind === 'file' ? output.path : undefined);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Whether it was stopped on purpose, by `stop` or `killNow`, rather than exiting or being killed otherwise. */
  get stopRequested(): boolean {
    return this.stopAsked;
  }

  /** How it ended: `exit code 1`, `signal SIGKILL`. */
  get exitStatus(): string {
    return this.child.signalCode ? `signal ${this.child.signalCode}` : `exit code ${this.child.exitCode}`;
  }

  /**
   * SIGTERM, then SIGKILL if it has not exited after `graceMs`: by default longer than a service takes to drain
   * its requests in flight (SHUTDOWN_DRAIN_MS, 45 s) and export its last spans.
   */
  async stop(graceMs = 60_000): Promise<void> {
    this.stopAsked = true;
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** For `process.on('exit')`, where nothing can be awaited any more. */
  killNow(): void {
    this.stopAsked = true;
    if (this.running) this.child.kill('SIGKILL');
  }

  /** SIGKILL, as the kernel's OOM killer or a crash would end it: not a stop, so a supervisor restarts it. */
  crash(): void {
    if (this.running) this.child.kill('SIGKILL');
  }

  /** Waits for `check`, but gives up at once, with the end of its log, if the process exits meanwhile. */
  async whileRunning(what: string, check: () => Promise<boolean>, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    const exited = this.exited.then(async (code) => {
      const log = this.logPath ? await readFile(this.logPath, 'utf8').catch(() => '') : '';
      throw new Error(
        `${this.name} exited (code ${code}) while waiting for ${what}\n${log.split('\n').slice(-15).join('\n')}`,
      );
    });
    await Promise.race([waitFor(what, check, timeoutMs), exited]);
    exited.catch(() => {});
  }
}

/** The process ids of those of `children` that were started. */
export function pidsOf(children: (ManagedProcess | undefined)[]): number[] {
  return children.flatMap((child) => (child?.pid === undefined ? [] : [child.pid]));
}

/** Runs a command to completion, its output passed through `onLine`; a failure names the command. */
export async function run(
  command: string,
  args: string[],
  options: SpawnOptions & { onLine?: (line: string) => void } = {},
) {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      options.onLine?.(line);
    });
  }
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (exit ${code}):\n${lines.slice(-20).join('\n')}`);
  }
  return lines;
}

export function commandExists(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Polls `check` until it returns true; throws with `what` once `timeoutMs` has passed. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 250,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Whether something accepts connections on `port` of the loopback interface. */
export function portOpen(port: number): Promise<boolean> {
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

/** Fails with one message naming every port of `ports` that something already listens on. */
export async function assertPortsFree(ports: number[]): Promise<void> {
  const taken = [];
  for (const port of ports) if (await portOpen(port)) taken.push(port);
  if (taken.length > 0) {
    throw new SetupError(
      `port ${taken.join(', ')} already in use. Is another \`pnpm start\` (or a Kafka, Jaeger or service) running? ` +
        'Stop it, or point KAFKA_BROKERS / OTEL_EXPORTER_OTLP_ENDPOINT at the Kafka / Jaeger already running.',
    );
  }
}
