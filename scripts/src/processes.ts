import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** A prerequisite that is missing or in the way: its message says what to do, and is all that is printed. */
export class SetupError extends Error {
  override readonly name = 'SetupError';
}

export type Output = { kind: 'file'; path: string } | { kind: 'terminal'; prefix: string };

/** A child process of the stack, stopped by signal and awaited. */
export class ManagedProcess {
  /** Its exit code, or null when a signal ended it. */
  readonly exited: Promise<number | null>;
  readonly startedAt = Date.now();
  private stopAsked = false;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
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
    return new ManagedProcess(name, child);
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
