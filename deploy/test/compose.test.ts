import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { dirname } from 'node:path/posix';
import { addressesIn, dataFileEnv, envProblems, namesHost, SERVICES } from '../src/env';
import { REPO_ROOT } from '../src/run';
import { composeConfig, type ComposeProject, type ComposeService } from '../src/tools';

const COMPOSE_FILE = join(REPO_ROOT, 'docker-compose.yml');

describe('docker-compose.yml', () => {
  let project: ComposeProject;
  let services: Record<string, ComposeService>;

  before(() => {
    // compose-go fails on a schema violation, an unset variable or a broken reference.
    project = composeConfig(COMPOSE_FILE);
    services = project.services;
  });

  it('loads as Docker Compose loads it: Compose Specification schema, .env interpolation, references', () => {
    assert.equal(project.name, 'eshop');
    assert.deepEqual(Object.keys(services).sort(), [...SERVICES, 'jaeger', 'kafka'].sort());
  });

  it('is rejected by the same loader when a key is not in the Compose Specification', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eshop-compose-'));
    try {
      copyFileSync(join(REPO_ROOT, '.env'), join(dir, '.env'));
      const broken = readFileSync(COMPOSE_FILE, 'utf8').replace(
        '    restart: unless-stopped\n',
        '    restart_policy: unless-stopped\n',
      );
      writeFileSync(join(dir, 'docker-compose.yml'), broken);
      assert.throws(() => composeConfig(join(dir, 'docker-compose.yml')), /restart_policy/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('builds every service from the shared Dockerfile with its name as SERVICE', () => {
    for (const name of SERVICES) {
      const build = services[name].build;
      assert.ok(build, `${name} has no build`);
      assert.equal(build.context, '.', `${name} builds from the repository root`);
      assert.equal(build.dockerfile ?? 'Dockerfile', 'Dockerfile');
      assert.equal(build.args?.SERVICE, name);
    }
  });

  it('gives everything a healthcheck, a memory limit, a restart policy and bounded logs', () => {
    for (const [name, service] of Object.entries(services)) {
      assert.ok(service.healthcheck?.test?.length && !service.healthcheck.disable, `${name} has no healthcheck`);
      assert.ok(Number(service.deploy?.resources?.limits?.memory) > 0, `${name} has no memory limit`);
      assert.equal(service.restart, 'unless-stopped', `${name} restart policy`);
      assert.equal(service.logging?.driver, 'json-file', `${name} logging`);
    }
  });

  it('starts a service only once what it depends on is healthy', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        assert.equal(condition, 'service_healthy', `${name} → ${dependency}`);
      }
    }
    // The consumer creates the topics and joins its group at start: Kafka must answer first.
    assert.ok(services['kafka-consumer'].depends_on?.kafka, 'kafka-consumer waits for kafka');
    assert.ok(services.eshop.depends_on?.kafka, 'eshop waits for kafka');
  });

  it('sets exactly the variables each service reads, with the required ones present and no fault turned on', () => {
    const problems = SERVICES.flatMap((name) =>
      envProblems(name, stringEnv(services[name].environment)).map((problem) => `${name}: ${problem}`),
    );
    assert.deepEqual(problems, []);
  });

  it('keeps every data file on a named volume', () => {
    const files = SERVICES.flatMap((name) => dataFileEnv(name).map((variable) => ({ name, variable })));
    assert.ok(files.length > 0, 'no service names a data file');
    for (const { name, variable } of files) {
      const path = stringEnv(services[name].environment)[variable];
      const volume = services[name].volumes?.find(({ target }) => target === dirname(path));
      assert.equal(volume?.type, 'volume', `${name}: ${variable}=${path} is not on a named volume`);
      assert.ok(volume.source && project.volumes?.[volume.source], `${name}: volume ${volume.source} is declared`);
    }
  });

  it('points every address at a compose service listening on that port', () => {
    const listening = (name: string): number[] => {
      const service = services[name];
      if (!service) return [];
      const env = stringEnv(service.environment);
      return [...(service.expose ?? []).map(Number), ...(env.PORT ? [Number(env.PORT)] : [])];
    };
    const problems = SERVICES.flatMap((name) =>
      addressesIn(name, stringEnv(services[name].environment))
        .filter(({ name: variable, host, port }) => !listening(host).includes(port) || !namesHost(variable, host))
        .map(
          ({ name: variable, host, port }) =>
            `${name}: ${variable} → ${host}:${port} is not that compose service's port`,
        ),
    );
    assert.deepEqual(problems, []);
  });
});

function stringEnv(environment: Record<string, string | null> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(environment ?? {}).map(([key, value]) => [key, value ?? '']));
}
