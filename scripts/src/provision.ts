import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CACHE_DIR, JAEGER_MODULE, JAEGER_MODULE_VERSION, KAFKA_VERSION, REPO_ROOT, ZIPKIN_VERSION } from './paths';
import { commandExists, run, SetupError } from './processes';

export type Progress = (message: string) => void;

const COMPLETE_MARKER = '.complete';

/** Apache Kafka's jars, resolved once from Maven Central by Maven into the cache; returns their folder. */
export async function ensureKafkaJars(progress: Progress): Promise<string> {
  requireCommand(
    'java',
    'Kafka runs on Java 17 or newer: install a JDK (e.g. `apt-get install openjdk-17-jre-headless`).',
  );
  const dir = join(CACHE_DIR, `kafka-${KAFKA_VERSION}`);
  if (existsSync(join(dir, COMPLETE_MARKER))) return dir;
  requireCommand('mvn', 'Kafka is fetched from Maven Central with Maven: install it (e.g. `apt-get install maven`).');

  progress(`fetching Apache Kafka ${KAFKA_VERSION} from Maven Central into ${dir} (once, about 60 MB)`);
  const partial = `${dir}.partial`;
  await rm(partial, { recursive: true, force: true });
  let downloaded = 0;
  await run(
    'mvn',
    [
      '--batch-mode',
      '-f',
      join(REPO_ROOT, 'scripts', 'kafka', 'pom.xml'),
      `-Dkafka.version=${KAFKA_VERSION}`,
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${partial}`,
    ],
    {
      onLine: (line) => {
        if (line.startsWith('Downloaded from') && ++downloaded % 10 === 0) progress(`  ${downloaded} files downloaded`);
      },
    },
  );
  const jars = (await readdir(partial)).filter((name) => name.endsWith('.jar'));
  progress(`  ${jars.length} jars ready`);
  await writeFile(join(partial, COMPLETE_MARKER), '');
  await rm(dir, { recursive: true, force: true });
  await rename(partial, dir);
  return dir;
}

/**
 * Jaeger v2, built once from its Go module into the cache; returns the binary. `go install pkg@version` refuses
 * this module's tags (they carry a `replace` directive), so the module is downloaded and built as the main
 * module, where its `replace` applies.
 */
export async function ensureJaegerBinary(progress: Progress): Promise<string> {
  const binary = join(CACHE_DIR, `jaeger-${JAEGER_MODULE_VERSION}`, 'jaeger');
  if (existsSync(binary)) return binary;
  requireCommand('go', 'Jaeger is built from its Go module: install Go 1.24 or newer (https://go.dev/doc/install).');

  progress(
    `downloading the Jaeger module ${JAEGER_MODULE}@${JAEGER_MODULE_VERSION} (once, a few hundred MB of modules)`,
  );
  const lines = await run('go', ['mod', 'download', '-json', `${JAEGER_MODULE}@${JAEGER_MODULE_VERSION}`]);
  const download = JSON.parse(lines.join('\n')) as { Dir: string };
  progress('building Jaeger (once; several minutes on two cores)');
  await mkdir(join(CACHE_DIR, `jaeger-${JAEGER_MODULE_VERSION}`), { recursive: true });
  let compiled = 0;
  await run('go', ['build', '-v', '-o', `${binary}.partial`, './cmd/jaeger'], {
    cwd: download.Dir,
    env: { ...process.env, GOFLAGS: '-mod=readonly -buildvcs=false' },
    onLine: () => {
      if (++compiled % 100 === 0) progress(`  ${compiled} packages built`);
    },
  });
  await rename(`${binary}.partial`, binary);
  progress(`  Jaeger ready: ${binary}`);
  return binary;
}

/** Zipkin's server jar, fetched once from Maven Central by Maven into the cache; returns its path. */
export async function ensureZipkinJar(progress: Progress): Promise<string> {
  const jar = join(CACHE_DIR, `zipkin-${ZIPKIN_VERSION}`, `zipkin-server-${ZIPKIN_VERSION}-exec.jar`);
  if (existsSync(jar)) return jar;
  requireCommand('mvn', 'Zipkin is fetched from Maven Central with Maven: install it (e.g. `apt-get install maven`).');
  progress(`fetching Zipkin ${ZIPKIN_VERSION} from Maven Central into ${dirname(jar)} (once, about 135 MB)`);
  const partial = `${dirname(jar)}.partial`;
  await rm(partial, { recursive: true, force: true });
  await run('mvn', [
    '--batch-mode',
    '--no-transfer-progress',
    'dependency:copy',
    `-Dartifact=io.zipkin:zipkin-server:${ZIPKIN_VERSION}:jar:exec`,
    `-DoutputDirectory=${partial}`,
  ]);
  await rm(dirname(jar), { recursive: true, force: true });
  await rename(partial, dirname(jar));
  progress(`  Zipkin ready: ${jar}`);
  return jar;
}

/** Fails with advice when `command` is not on PATH. */
export function requireCommand(command: string, advice: string): void {
  if (!commandExists(command)) throw new SetupError(`\`${command}\` not found. ${advice}`);
}
