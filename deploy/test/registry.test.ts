import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REGISTRY, SERVICE_NODE_ARGS, SERVICES, startScript } from '@eshop/scripts/services';
import { dataFileEnv, SERVICE_SCHEMAS } from '../src/env';
import { find, parseObjects } from '../src/k8s';
import { REPO_ROOT } from '../src/run';
import { composeConfig, kustomizeBuild } from '../src/tools';

// The registry (scripts/src/services.ts) is where a service's name, port, start command and data files are
// written; everything else that repeats one of them must agree with it, or a change made in one place is lost.

describe('the services registry', () => {
  it('names the same services as the deployments', () => {
    assert.deepEqual([...SERVICES].sort(), Object.keys(SERVICE_SCHEMAS).sort());
  });

  it("is each service's package.json start script", () => {
    for (const service of SERVICES) {
      const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'services', service, 'package.json'), 'utf8')) as {
        scripts: Record<string, string>;
      };
      assert.equal(manifest.scripts.start, startScript(service), `services/${service}/package.json`);
    }
  });

  it("is the image's CMD", () => {
    const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const cmd = [...dockerfile.matchAll(/^CMD (\[.*\])$/gm)].map(([, json]) => JSON.parse(json) as string[]);
    assert.deepEqual(cmd, [['node', ...SERVICE_NODE_ARGS]]);
  });

  it("is each service's default PORT and its data files with their default names", () => {
    for (const service of SERVICES) {
      const schema = SERVICE_SCHEMAS[service];
      const defaults = schema.parse({}) as Record<string, unknown>;
      assert.equal(defaults.PORT, REGISTRY[service].port, `${service}'s PORT default`);
      assert.deepEqual(
        Object.fromEntries(dataFileEnv(service).map((name) => [name, defaults[name]])),
        REGISTRY[service].dataFiles,
        `${service}'s data files`,
      );
    }
  });

  it('is the port compose runs each service on', () => {
    const { services } = composeConfig(join(REPO_ROOT, 'docker-compose.yml'));
    for (const service of SERVICES) {
      const { environment = {}, ports = [] } = services[service];
      assert.equal(environment.PORT, String(REGISTRY[service].port), `compose ${service} PORT`);
      for (const { target } of ports) assert.equal(target, REGISTRY[service].port, `compose ${service} ports`);
    }
  });

  it('is the port Kubernetes runs each service on', () => {
    const objects = parseObjects(kustomizeBuild(join(REPO_ROOT, 'k8s')));
    for (const service of SERVICES) {
      const [container] = find(objects, 'Deployment', service)!.spec.template.spec.containers;
      const port = String(REGISTRY[service].port);
      assert.equal(container.env?.find((variable) => variable.name === 'PORT')?.value, port, `k8s ${service} PORT`);
      assert.deepEqual(
        container.ports?.map((entry) => String(entry.containerPort)),
        [port],
        `k8s ${service} containerPort`,
      );
    }
  });
});
