import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, REPO_ROOT, run, runOk } from '../src/run';

// The service that starts without Kafka: enough to prove the deployed folder is complete and runs.
const SERVICE = 'billing';
const START_DEADLINE_MS = 20_000;

/** A filter for cpSync from .dockerignore, which keeps to `name` and `**\/name` patterns with `*` globs. */
function dockerignoreFilter(root: string): (source: string) => boolean {
  const patterns = readFileSync(join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const rules = patterns.map((pattern) => {
    assert.doesNotMatch(pattern, /^!|\?|\[/, `.dockerignore pattern ${pattern} is more than this copy understands`);
    const anywhere = pattern.startsWith('**/');
    const glob = new RegExp(`^${(anywhere ? pattern.slice(3) : pattern).split('*').map(escapeRegExp).join('[^/]*')}$`);
    return (path: string) =>
      anywhere ? path.split('/').some((part) => glob.test(part)) : glob.test(path.split('/')[0]);
  });
  return (source) => {
    const path = relative(root, source).split(sep).join('/');
    return path === '' || !rules.some((matches) => matches(path));
  };
}

const escapeRegExp = (text: string) => text.replace(/[.+^${}()|\\]/g, '\\$&');

describe(`the image build steps (scripts/image/build.sh ${SERVICE})`, () => {
  let work: string;
  let out: string;

  before(() => {
    // What `docker build` would see: the repository through .dockerignore, no node_modules, no dist.
    work = mkdtempSync(join(tmpdir(), 'eshop-image-'));
    cpSync(REPO_ROOT, join(work, 'context'), { recursive: true, filter: dockerignoreFilter(REPO_ROOT) });
    out = join(work, 'out');
  });

  after(() => rmSync(work, { recursive: true, force: true }));

  it('leaves out what the host installed or built', () => {
    const context = join(work, 'context');
    assert.ok(existsSync(join(context, 'pnpm-lock.yaml')));
    assert.ok(!existsSync(join(context, 'node_modules')));
    assert.ok(!existsSync(join(context, 'services', SERVICE, 'dist')));
  });

  it('install, compile and deploy the service into a self-contained folder', () => {
    runOk('bash', [join(work, 'context', 'scripts', 'image', 'build.sh'), SERVICE, out], { timeout: 240_000 });
    assert.ok(existsSync(join(out, 'dist', 'src', 'main.js')));
    assert.ok(existsSync(join(out, 'healthcheck.js')));
    // Compiled JavaScript only: no TypeScript sources or tests in the image.
    assert.ok(!existsSync(join(out, 'src')) && !existsSync(join(out, 'dist', 'test')));
    assert.ok(existsSync(join(out, 'node_modules', '@eshop', 'tracing', 'dist', 'src', 'register.js')));
    // The tracing bootstrap reads what the service wants from its package.json, which must ship as written.
    const manifest = (dir: string) =>
      JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { tracing?: unknown };
    assert.deepEqual(manifest(out).tracing, manifest(join(REPO_ROOT, 'services', SERVICE)).tracing);
    assert.ok(manifest(out).tracing, 'the service asks for span attributes');
    // Production dependencies only: no compiler, no type packages, no test helpers.
    assert.ok(!existsSync(join(out, 'node_modules', 'typescript')) && !existsSync(join(out, 'node_modules', '@types')));
    const workspace = join(out, 'node_modules', '@eshop');
    const testCode = readdirSync(workspace, { recursive: true, encoding: 'utf8' }).filter(
      (file) => file.endsWith('.js') && readFileSync(join(workspace, file), 'utf8').includes('node:test'),
    );
    assert.deepEqual(testCode, [], 'shipped workspace code that loads node:test');
  });

  it("starts from the deployed folder as the image's CMD does and answers /healthz and its HEALTHCHECK", async () => {
    const port = await freePort();
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      OTEL_SERVICE_NAME: SERVICE,
      PORT: String(port),
      NODE_ENV: 'production',
    };
    const child = spawn(
      process.execPath,
      ['--disable-warning=TimeoutNegativeWarning', '--require', '@eshop/tracing/register', 'dist/src/main.js'],
      { cwd: out, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + START_DEADLINE_MS;
      let status = 0;
      while (Date.now() < deadline && child.exitCode === null) {
        status = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) }).then(
          (r) => r.status,
          () => 0,
        );
        if (status === 200) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.equal(status, 200, `no healthy /healthz within ${START_DEADLINE_MS} ms:\n${output}`);
      const check = run(process.execPath, ['healthcheck.js', '/healthz'], { cwd: out, env });
      assert.equal(check.status, 0, `healthcheck.js: ${check.stderr}`);
      const wrongPort = run(process.execPath, ['healthcheck.js'], {
        cwd: out,
        env: { ...env, PORT: String(await freePort()) },
      });
      assert.equal(wrongPort.status, 1, 'healthcheck.js fails when nothing answers');
    } finally {
      child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000, 'timeout'))]);
      if (code === 'timeout') child.kill('SIGKILL');
    }
  });
});
