import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** The repository root: deploy/dist/src/run.js is three levels below it. */
export const REPO_ROOT = join(__dirname, '..', '..', '..');
export const DEPLOY_DIR = join(REPO_ROOT, 'deploy');

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; a missing program is reported with what installs it. */
export function run(command: string, args: string[], options: SpawnSyncOptions & { hint?: string } = {}): RunResult {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 300_000,
    ...options,
  });
  if (result.error) {
    const hint = options.hint ? ` (${options.hint})` : '';
    throw new Error(`cannot run ${command}: ${result.error.message}${hint}`);
  }
  return { status: result.status, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Like run, but throws with the command's output when it fails. */
export function runOk(command: string, args: string[], options: SpawnSyncOptions & { hint?: string } = {}): string {
  const result = run(command, args, options);
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.status}\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`,
    );
  }
  return result.stdout;
}

/** A port nothing listens on right now, for a process the test starts (or for no one: a closed port). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
