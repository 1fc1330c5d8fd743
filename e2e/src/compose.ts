import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { promisify } from 'node:util';
import type { ServiceName } from '@eshop/scripts';
import { JaegerQuery } from '@eshop/jaeger-query';
import { REPO_ROOT } from '@eshop/scripts/paths';
import { poll } from './fixture';

const execFileAsync = promisify(execFile);

/** What compose fills docker-compose.yml in with: the published ports, among others. */
export const DOT_ENV: Record<string, string> = Object.fromEntries(
  readFileSync(join(REPO_ROOT, '.env'), 'utf8')
    .split('\n')
    .flatMap((line) => {
      const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
      return match ? [[match[1], match[2]]] : [];
    }),
);

/** The compose CLI under test: `docker compose` (v2), or another given as COMPOSE_CLI (`docker-compose`, v1). */
const CLI = (process.env.COMPOSE_CLI ?? 'docker compose').split(' ');

/**
 * Behind a TLS-inspecting proxy, BUILD_CA_BUNDLE names the CA bundle the services' builds need
 * (docker-compose.build-ca.yml). Compose v5.6 hands bake that file without the `--allow fs.read` bake asks for
 * a file outside the build context, so bake's filesystem entitlement check is turned off for these builds.
 */
const BUILD_CA_FILES = process.env.BUILD_CA_BUNDLE ? ['docker-compose.build-ca.yml'] : [];
const BUILD_CA_ENV = process.env.BUILD_CA_BUNDLE ? { BUILDX_BAKE_ENTITLEMENTS_FS: '0' } : {};

/** Cold, `up --build` builds six images and maybe the stand-ins' layers: minutes, not seconds. */
const UP_TIMEOUT_MS = 30 * 60_000;

export interface Container {
  Id: string;
  Name: string;
  Config: { User: string; Labels: Record<string, string> };
  HostConfig: { ReadonlyRootfs: boolean; Memory: number };
  RestartCount: number;
  State: { Status: string; Pid: number; OOMKilled: boolean; ExitCode: number; Health?: { Status: string } };
}

async function exec(command: string, args: string[], timeoutMs: number): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, args, {
      cwd: REPO_ROOT,
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
      // BuildKit for the Dockerfile's `RUN --mount`; docker-compose v1 gets it only through the docker CLI.
      env: { ...process.env, DOCKER_BUILDKIT: '1', COMPOSE_DOCKER_CLI_BUILD: '1', ...BUILD_CA_ENV },
    });
    return stdout;
  } catch (error) {
    const { stderr = '' } = error as { stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${stderr.split('\n').slice(-30).join('\n')}`, {
      cause: error,
    });
  }
}

export function docker(args: string[], timeoutMs = 60_000): Promise<string> {
  return exec('docker', args, timeoutMs);
}

export interface ComposeOptions {
  /** Compose files added to docker-compose.yml (`-f`). */
  files?: string[];
  /** Environment files read after .env, whose values win (`--env-file`). */
  envFiles?: string[];
}

/** The project of docker-compose.yml (and `files` added to it), run through the compose CLI as its users run it. */
export class ComposeStack {
  readonly jaeger = new JaegerQuery(`http://127.0.0.1:${DOT_ENV.JAEGER_UI_HOST_PORT}`);
  private readonly options: string[];

  constructor({ files = [], envFiles = [] }: ComposeOptions = {}) {
    this.options = [
      ...['docker-compose.yml', ...files, ...BUILD_CA_FILES].flatMap((file) => ['-f', file]),
      ...(envFiles.length > 0 ? ['.env', ...envFiles].flatMap((file) => ['--env-file', file]) : []),
    ];
  }

  compose(args: string[], timeoutMs = 180_000): Promise<string> {
    return exec(CLI[0], [...CLI.slice(1), ...this.options, ...args], timeoutMs);
  }

  /** Where a service answers on the host: its port as .env publishes it. */
  url(service: ServiceName): string {
    return `http://127.0.0.1:${DOT_ENV[`${service.toUpperCase().replace('-', '_')}_HOST_PORT`]}`;
  }

  /** `up --build --detach`, then every container healthy; logs how long that took. */
  async up(): Promise<void> {
    const started = Date.now();
    await this.compose(['up', '--build', '--detach'], UP_TIMEOUT_MS);
    await this.healthy();
    console.log(
      `${CLI.join(' ')} up --build: every container healthy after ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
  }

  down(volumes: boolean): Promise<string> {
    return this.compose(['down', '--remove-orphans', ...(volumes ? ['--volumes'] : [])]);
  }

  async containers(): Promise<Map<string, Container>> {
    const ids = (await this.compose(['ps', '--all', '--quiet'])).split('\n').filter(Boolean);
    if (ids.length === 0) return new Map();
    const inspected = JSON.parse(await docker(['inspect', ...ids])) as Container[];
    return new Map(inspected.map((container) => [container.Config.Labels['com.docker.compose.service'], container]));
  }

  async container(service: string): Promise<Container> {
    const container = (await this.containers()).get(service);
    if (!container) throw new Error(`no container for ${service}`);
    return container;
  }

  /** Waits until every container runs and is healthy (or, a one-shot job, has exited 0). */
  async healthy(timeoutMs = 180_000): Promise<Map<string, Container>> {
    return poll(
      'every container healthy',
      async () => {
        const containers = await this.containers();
        return { containers, states: [...containers].map(([service, c]) => `${service}: ${describe(c)}`) };
      },
      ({ containers }) => containers.size > 0 && [...containers.values()].every(isDone),
      timeoutMs,
      1000,
    ).then(({ containers }) => containers);
  }
}

function describe(container: Container): string {
  return `${container.State.Status}${container.State.Health ? `/${container.State.Health.Status}` : ''}`;
}

function isDone(container: Container): boolean {
  const { Status, Health, ExitCode } = container.State;
  if (Status === 'exited') return ExitCode === 0;
  return Status === 'running' && (Health === undefined || Health.Status === 'healthy');
}

/**
 * One compose stack for a test file: up (images built) in `before`, and down with its volumes in `after`, even
 * when a test failed, so that the next file finds the host's ports free.
 */
export function useCompose(options: ComposeOptions = {}): ComposeStack {
  const stack = new ComposeStack(options);
  before(async () => {
    await docker(['info']).catch((error: unknown) => {
      throw new Error('the compose tests need a Docker Engine: bash scripts/docker-engine.sh', { cause: error });
    });
    // What an interrupted earlier run may have left.
    await stack.down(true);
    await stack.up();
    await fetch(`${stack.url('eshop')}/healthz`).catch((error: unknown) => {
      throw new Error(
        "eshop's published port does not answer: it is on the host's loopback, so run the compose tests in the " +
          "host's network namespace",
        { cause: error },
      );
    });
  });
  after(async () => {
    await stack.down(true);
  });
  return stack;
}
