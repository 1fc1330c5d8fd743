import { ManagedProcess, pidsOf } from './processes';
import type { Progress } from './provision';

/** The wait before restarting a process, doubled while it keeps exiting soon after each start. */
const RESTART_DELAY = { firstMs: 1000, maxMs: 30_000, resetAfterMs: 60_000 };

/**
 * Keeps processes running as compose's `restart:` and Kubernetes do: one that exits without being stopped through
 * the supervisor is started again by its `launch` function, after a backoff that grows while it keeps crashing.
 */
export class Supervisor {
  private readonly processes = new Map<string, ManagedProcess>();
  private readonly restarts = new Map<string, { delayMs: number; timer?: NodeJS.Timeout }>();
  private stopping = false;

  constructor(private readonly progress: Progress) {}

  /** Starts a process under supervision; `launch` starts it again after each crash. */
  start(name: string, launch: () => ManagedProcess): ManagedProcess {
    this.cancelRestart(name);
    return this.launch(name, launch);
  }

  get(name: string): ManagedProcess | undefined {
    return this.processes.get(name);
  }

  get pids(): number[] {
    return pidsOf([...this.processes.values()]);
  }

  /** Stops one process, and any restart of it that was due. */
  async stop(name: string): Promise<number | null> {
    this.cancelRestart(name);
    const child = this.processes.get(name);
    await child?.stop();
    return child ? child.exited : null;
  }

  /** Stops every process; none is restarted after this. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    for (const name of this.restarts.keys()) this.cancelRestart(name);
    await Promise.all([...this.processes.values()].map((child) => child.stop()));
  }

  /** For `process.on('exit')`, where nothing can be awaited. */
  killNow(): void {
    for (const child of this.processes.values()) child.killNow();
  }

  private launch(name: string, launch: () => ManagedProcess): ManagedProcess {
    const child = launch();
    this.processes.set(name, child);
    void child.exited.then(() => this.restartIfCrashed(name, child, launch));
    return child;
  }

  /** Restarts a process that exited though nobody stopped it, and says how it ended. */
  private restartIfCrashed(name: string, child: ManagedProcess, launch: () => ManagedProcess): void {
    if (child.stopRequested || this.stopping || this.processes.get(name) !== child) return;
    const previous = this.restarts.get(name)?.delayMs;
    const ranLong = Date.now() - child.startedAt >= RESTART_DELAY.resetAfterMs;
    const delayMs =
      previous === undefined || ranLong ? RESTART_DELAY.firstMs : Math.min(previous * 2, RESTART_DELAY.maxMs);
    this.progress(`${name} exited (${child.exitStatus}); restarting it in ${delayMs / 1000} s`);
    const timer = setTimeout(() => {
      this.restarts.set(name, { delayMs });
      this.launch(name, launch);
    }, delayMs);
    this.restarts.set(name, { delayMs, timer });
  }

  private cancelRestart(name: string): void {
    clearTimeout(this.restarts.get(name)?.timer);
    this.restarts.delete(name);
  }
}
