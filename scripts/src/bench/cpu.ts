import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/** The unit of /proc's CPU times: clock ticks per second, normally 100. */
const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** The CPU time a process has used so far, user and system, in milliseconds. */
export async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields 14 and 15 (utime, stime), counted after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/**
 * The CPU milliseconds each named group of processes (one service, the Kafka nodes) spends between `start` and
 * the call to the function it returns.
 */
export async function startCpuMeter(groups: Record<string, number[]>): Promise<() => Promise<Record<string, number>>> {
  const read = async () =>
    Object.fromEntries(
      await Promise.all(
        Object.entries(groups).map(
          async ([name, pids]) => [name, (await Promise.all(pids.map(cpuMs))).reduce((a, b) => a + b, 0)] as const,
        ),
      ),
    );
  const before = await read();
  return async () => {
    const after = await read();
    return Object.fromEntries(Object.keys(groups).map((name) => [name, after[name] - before[name]]));
  };
}
