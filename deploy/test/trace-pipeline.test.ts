import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { ZIPKIN_VERSION } from '@eshop/scripts/paths';
import { parse } from 'yaml';
import { SERVICES } from '../src/env';
import { IstioSchemas } from '../src/istio';
import { find, isIstio, parseObjects, type K8sObject } from '../src/k8s';
import { REPO_ROOT } from '../src/run';
import { composeConfig, istioApiDir, kubernetesValidate, kustomizeBuild, type ComposeProject } from '../src/tools';

const PIPELINE_DIR = join(REPO_ROOT, 'trace-pipeline');
const SPAN_TOPICS = ['jaeger-spans', 'zipkin-spans'];

/** The topics a collector config writes to, and the one an ingester config reads: the native stack's files. */
function topicsOf(config: string): string[] {
  const parsed = parse(readFileSync(join(PIPELINE_DIR, config), 'utf8')) as {
    exporters?: Record<string, { traces?: { topic?: string } }>;
    receivers?: Record<string, { traces?: { topic?: string } }>;
  };
  return Object.values({ ...parsed.exporters, ...parsed.receivers })
    .map((component) => component.traces?.topic)
    .filter((topic): topic is string => topic !== undefined);
}

describe('the Kafka trace pipeline, as compose and Kubernetes run it', () => {
  it('has the collector write both span topics and the ingester read Jaeger’s', () => {
    assert.deepEqual(topicsOf('collector.yaml').sort(), SPAN_TOPICS);
    assert.deepEqual(topicsOf('ingester.yaml'), ['jaeger-spans']);
  });

  describe('compose, with trace-pipeline/compose.env', () => {
    let project: ComposeProject;
    before(() => {
      project = composeConfig(
        join(REPO_ROOT, 'docker-compose.yml'),
        join(REPO_ROOT, '.env'),
        join(PIPELINE_DIR, 'compose.env'),
      );
    });

    it('sends every service’s spans to the collector, and the storefront to the ingester’s Jaeger', () => {
      for (const service of SERVICES) {
        assert.equal(
          project.services[service].environment?.OTEL_EXPORTER_OTLP_ENDPOINT,
          'http://jaeger-collector:4317',
          service,
        );
      }
      assert.equal(project.services.eshop.environment?.JAEGER_QUERY_URL, 'http://jaeger-ingester:16686');
    });

    it('runs the native stack’s config files, creates the span topics first, and pins the native Zipkin', () => {
      const mounts = (service: string) => project.services[service].volumes?.map((volume) => volume.source);
      assert.deepEqual(mounts('jaeger-collector'), ['./trace-pipeline/collector.yaml']);
      assert.deepEqual(mounts('jaeger-ingester'), ['./trace-pipeline/ingester.yaml']);
      for (const service of ['jaeger-collector', 'jaeger-ingester', 'zipkin']) {
        assert.equal(
          project.services[service].depends_on?.['span-topics']?.condition,
          'service_completed_successfully',
        );
      }
      const script = project.services['span-topics'].command?.join(' ') ?? '';
      for (const topic of SPAN_TOPICS) assert.match(script, new RegExp(topic));
      assert.match(script, /retention\.ms=/);
      assert.equal(project.services.zipkin.image, `openzipkin/zipkin:${ZIPKIN_VERSION}`);
      assert.equal(project.services.zipkin.environment?.KAFKA_TOPIC, 'zipkin-spans');
    });

    it('leaves the pipeline out of a plain `docker compose up`', () => {
      const plain = composeConfig(join(REPO_ROOT, 'docker-compose.yml'));
      assert.equal(plain.services['jaeger-collector'], undefined);
      assert.equal(plain.services.eshop.environment?.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://jaeger:4317');
    });
  });

  describe('kubectl apply -k trace-pipeline/', () => {
    let objects: K8sObject[];
    before(() => {
      objects = parseObjects(kustomizeBuild(PIPELINE_DIR));
    });

    it('puts a collector, not the all-in-one Jaeger, behind jaeger-collector:4317', () => {
      const service = find(objects, 'Service', 'jaeger-collector');
      assert.deepEqual(service?.spec.selector, { app: 'jaeger-collector' });
      const collector = find(objects, 'Deployment', 'jaeger-collector');
      const container = collector?.spec.template.spec.containers[0];
      assert.deepEqual(container?.args, ['--config', '/etc/trace-pipeline/collector.yaml']);
      assert.ok(container?.ports?.some((port) => port.containerPort === 4317));
    });

    it('turns the jaeger Deployment into the ingester, in the mesh, with the native stack’s config', () => {
      const jaeger = find(objects, 'Deployment', 'jaeger');
      assert.equal(jaeger?.spec.template.metadata?.labels?.['sidecar.istio.io/inject'], 'true');
      assert.deepEqual(jaeger?.spec.template.spec.containers[0].args, [
        '--config',
        '/etc/trace-pipeline/ingester.yaml',
      ]);
      const configMaps = objects.filter(
        (object) => object.kind === 'ConfigMap' && object.metadata.name.startsWith('trace-pipeline'),
      ) as (K8sObject & { data: Record<string, string> })[];
      assert.equal(configMaps.length, 1);
      const { data } = configMaps[0];
      for (const file of ['collector.yaml', 'ingester.yaml']) {
        assert.equal(data[file], readFileSync(join(PIPELINE_DIR, file), 'utf8'), file);
      }
    });

    it('validates every object against the Kubernetes schemas, unknown fields rejected', () => {
      const { status, output } = kubernetesValidate(objects.filter((object) => !isIstio(object)));
      assert.equal(status, 0, output);
    });

    it('lets the collector, the ingester and Zipkin reach Kafka, and validates against Istio’s schemas', () => {
      const policy = find(objects, 'AuthorizationPolicy', 'kafka-trace-pipeline');
      const principals = policy?.spec.rules?.flatMap((rule) =>
        (rule.from ?? []).flatMap((from) => from.source.principals ?? []),
      );
      for (const account of ['jaeger-collector', 'jaeger', 'zipkin', 'span-topics']) {
        assert.ok(principals?.includes(`cluster.local/ns/eshop/sa/${account}`), account);
        assert.ok(find(objects, 'ServiceAccount', account), `ServiceAccount ${account}`);
      }
      const istio = new IstioSchemas(istioApiDir());
      const problems = objects
        .filter(isIstio)
        .flatMap((object) =>
          istio.problems(object).map((problem) => `${object.kind}/${object.metadata.name}: ${problem}`),
        );
      assert.deepEqual(problems, []);
    });
  });
});
