import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { dirname } from 'node:path/posix';
import { LONGEST_STOP_MS } from '@eshop/http';
import { addressesIn, dataFileEnv, envProblems, namesHost, SERVICES } from '../src/env';
import { REPO_ROOT } from '../src/run';
import { bytes, isBelow, JAEGER_BYTES_PER_TRACE, jaegerMaxTraces, listenerHost } from '../src/checks';
import { composeConfig, type ComposeProject, type ComposeService } from '../src/tools';

const COMPOSE_FILE = join(REPO_ROOT, 'docker-compose.yml');
const KAFKA_CLUSTER_FILE = join(REPO_ROOT, 'docker-compose.kafka-cluster.yml');

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

  it("never runs someone else's image: each service is built here, under a name no registry serves", () => {
    for (const name of SERVICES) {
      assert.equal(services[name].pull_policy, 'build', `${name} pull_policy`);
      // Without a registry host, `eshop/x` means docker.io/eshop/x, which anyone may publish.
      assert.match(services[name].image ?? '', /^localhost\//, `${name} image`);
    }
  });

  it('runs the Kafka healthcheck in a small heap, beside the broker in its memory limit', () => {
    const [kind, command] = services.kafka.healthcheck?.test ?? [];
    assert.equal(kind, 'CMD-SHELL');
    const heap = /^KAFKA_HEAP_OPTS=(?:'|")?-Xmx(\d+)m\b/.exec(command);
    assert.ok(heap, `the healthcheck's JVM gets a heap of its own, not the broker's: ${command}`);
    assert.ok(Number(heap[1]) <= 128, `healthcheck heap ${heap[1]} MB`);
  });

  it("binds Kafka's controller to loopback and keeps its data in a folder inside its volume", () => {
    const env = stringEnv(services.kafka.environment);
    assert.match(listenerHost(env.KAFKA_LISTENERS, 'CONTROLLER') ?? '', /^(localhost|127\.0\.0\.1)$/);
    const volume = services.kafka.volumes?.find(({ target }) => env.KAFKA_LOG_DIRS.startsWith(target));
    assert.ok(volume, 'KAFKA_LOG_DIRS is on a volume');
    assert.ok(
      isBelow(env.KAFKA_LOG_DIRS, volume.target),
      `KAFKA_LOG_DIRS=${env.KAFKA_LOG_DIRS} is below ${volume.target}`,
    );
  });

  it("bounds Jaeger's memory storage to what its memory limit holds", () => {
    const limit = bytes(Number(services.jaeger.deploy?.resources?.limits?.memory));
    const maxTraces = jaegerMaxTraces(services.jaeger.command ?? []);
    assert.ok(
      maxTraces * JAEGER_BYTES_PER_TRACE <= limit,
      `${maxTraces} traces of up to ${JAEGER_BYTES_PER_TRACE} bytes do not fit in ${limit} bytes`,
    );
  });

  it('gives everything a healthcheck, a memory limit, a restart policy and bounded logs', () => {
    for (const [name, service] of Object.entries(services)) {
      assert.ok(service.healthcheck?.test?.length && !service.healthcheck.disable, `${name} has no healthcheck`);
      assert.ok(Number(service.deploy?.resources?.limits?.memory) > 0, `${name} has no memory limit`);
      assert.equal(service.restart, 'unless-stopped', `${name} restart policy`);
      assert.equal(service.logging?.driver, 'json-file', `${name} logging`);
    }
  });

  it('gives each service longer to stop than it takes to drain its requests and flush its spans', () => {
    for (const name of SERVICES) {
      const [, minutes = '0', seconds = '0'] =
        /^(?:(\d+)m)?(?:(\d+)s)?$/.exec(services[name].stop_grace_period ?? '') ?? [];
      const graceMs = (Number(minutes) * 60 + Number(seconds)) * 1000;
      assert.ok(graceMs > LONGEST_STOP_MS, `${name}: stop_grace_period ${services[name].stop_grace_period}`);
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

describe('docker-compose.kafka-cluster.yml over docker-compose.yml', () => {
  let services: Record<string, ComposeService>;
  const kafkaNodes = () => Object.keys(services).filter((name) => /^kafka(-\d+)?$/.test(name));

  before(() => {
    services = composeConfig(COMPOSE_FILE, KAFKA_CLUSTER_FILE).services;
  });

  it('runs three Kafka nodes, each a voter of one quorum, on a volume of its own', () => {
    const nodes = kafkaNodes();
    assert.equal(nodes.length, 3);
    const envs = nodes.map((name) => stringEnv(services[name].environment));
    const voters = nodes.map((name, index) => `${envs[index].KAFKA_NODE_ID}@${name}:9093`).sort();
    for (const [index, name] of nodes.entries()) {
      const env = envs[index];
      assert.deepEqual(env.KAFKA_CONTROLLER_QUORUM_VOTERS.split(',').sort(), voters, `${name} voters`);
      assert.equal(listenerHost(env.KAFKA_LISTENERS, 'CONTROLLER'), '', `${name}: the other voters reach it`);
      assert.equal(env.KAFKA_ADVERTISED_LISTENERS, `PLAINTEXT://${name}:9092`);
      assert.equal(env.KAFKA_DEFAULT_REPLICATION_FACTOR, '3');
      assert.equal(env.KAFKA_MIN_INSYNC_REPLICAS, '2');
      assert.equal(env.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR, '3');
      assert.equal(env.KAFKA_TRANSACTION_STATE_LOG_MIN_ISR, '2');
    }
    assert.equal(new Set(envs.map((env) => env.KAFKA_NODE_ID)).size, 3, 'node ids are distinct');
    const volumes = nodes.map((name) => services[name].volumes?.map((volume) => volume.source).join());
    assert.equal(new Set(volumes).size, 3, `each node has its own volume: ${volumes.join(' ')}`);
  });

  it('has the Kafka clients bootstrap from all three and wait for each', () => {
    for (const name of ['eshop', 'kafka-consumer']) {
      const brokers = stringEnv(services[name].environment).KAFKA_BROKERS.split(',');
      assert.deepEqual(
        brokers.sort(),
        kafkaNodes()
          .map((node) => `${node}:9092`)
          .sort(),
        name,
      );
      for (const node of kafkaNodes()) assert.ok(services[name].depends_on?.[node], `${name} waits for ${node}`);
    }
  });
});
