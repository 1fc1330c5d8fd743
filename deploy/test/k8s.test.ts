import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { dirname } from 'node:path/posix';
import { addressesIn, dataFileEnv, envProblems, namesHost, SERVICES } from '../src/env';
import { IstioSchemas } from '../src/istio';
import { find, ISTIO_PORT_NAME, isIstio, isKind, type K8sObject, type Kinds, ofKind, parseObjects } from '../src/k8s';
import { REPO_ROOT } from '../src/run';
import { istioApiDir, kubernetesValidate, kustomizeBuild } from '../src/tools';
import { LONGEST_STOP_MS } from '@eshop/http';
import { KAFKA_PROBE_TIMEOUT_MS } from '@eshop/kafka';
import { bytes, isBelow, JAEGER_BYTES_PER_TRACE, jaegerMaxTraces, listenerHost } from '../src/checks';

const K8S_DIR = join(REPO_ROOT, 'k8s');
const NAMESPACE = 'eshop';
const DOMAIN = `${NAMESPACE}.svc.cluster.local`;
/** The one principal from outside the kustomization: istioctl's default ingress gateway. */
const INGRESS_GATEWAY = 'cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account';
const principal = (serviceAccount: string) => `cluster.local/ns/${NAMESPACE}/sa/${serviceAccount}`;

describe('k8s/ for a cluster with Istio', () => {
  let objects: K8sObject[];
  let istio: IstioSchemas;
  const all = <K extends keyof Kinds>(kind: K) => ofKind(objects, kind);
  const workloads = () => [...all('Deployment'), ...all('StatefulSet')];
  const podSpec = (workload: Kinds['Deployment' | 'StatefulSet']) => workload.spec.template.spec;

  before(() => {
    objects = parseObjects(kustomizeBuild(K8S_DIR));
    istio = new IstioSchemas(istioApiDir());
  });

  it('renders with kustomize into namespace eshop, labelled for sidecar injection', () => {
    assert.ok(objects.length > 0);
    const namespace = find(objects, 'Namespace', NAMESPACE);
    assert.equal(namespace?.metadata.labels?.['istio-injection'], 'enabled');
    for (const object of objects.filter((o) => o.kind !== 'Namespace')) {
      assert.equal(object.metadata.namespace, NAMESPACE, `${object.kind}/${object.metadata.name}`);
    }
  });

  it('validates every Kubernetes object against the Kubernetes schemas, unknown fields rejected', () => {
    const result = kubernetesValidate(objects.filter((object) => !isIstio(object)));
    assert.equal(result.output, '');
    assert.equal(result.status, 0);
  });

  it('has kubernetes-validate reject an unknown field', () => {
    const deployment = structuredClone(find(objects, 'Deployment', 'eshop')!);
    const container = deployment.spec.template.spec.containers[0];
    Object.assign(container, { readinesProbe: container.readinessProbe });
    const result = kubernetesValidate([deployment]);
    assert.notEqual(result.status, 0);
    assert.match(result.output, /readinesProbe/);
  });

  it("validates every Istio object against Istio's CRD schemas, unknown fields rejected", () => {
    const istioObjects = objects.filter(isIstio);
    assert.ok(istioObjects.length >= 5);
    for (const file of ['mesh-telemetry.yaml']) {
      istioObjects.push(...parseObjects(readFileSync(join(K8S_DIR, 'istio', file), 'utf8')));
    }
    const problems = istioObjects.flatMap((object) =>
      istio.problems(object).map((problem) => `${object.kind}/${object.metadata.name}: ${problem}`),
    );
    assert.deepEqual(problems, []);
  });

  it("has Istio's schemas reject an unknown field and an unknown version", () => {
    const telemetry = structuredClone(find(objects, 'Telemetry', 'tracing')!);
    Object.assign(telemetry.spec.tracing[0], { randomSamplingPercent: 100 });
    assert.match(istio.problems(telemetry).join('\n'), /randomSamplingPercent/);
    assert.match(istio.problems({ apiVersion: 'telemetry.istio.io/v9', kind: 'Telemetry' }).join(), /serves no/);
  });

  it('gives every service a ServiceAccount, a Deployment and a Service with Istio port names and app/version labels', () => {
    for (const name of SERVICES) {
      assert.ok(find(objects, 'ServiceAccount', name), `${name} ServiceAccount`);
      const deployment = find(objects, 'Deployment', name);
      assert.ok(deployment, `${name} Deployment`);
      const labels = deployment.spec.template.metadata.labels;
      assert.equal(labels.app, name);
      assert.ok(labels.version, `${name} version label`);
      assert.equal(podSpec(deployment).serviceAccountName, name);
      const service = find(objects, 'Service', name);
      assert.ok(service, `${name} Service`);
      assert.deepEqual(service.spec.selector, { app: name });
      assert.deepEqual(
        service.spec.ports.map((port) => port.name),
        ['http'],
      );
    }
    for (const service of all('Service')) {
      for (const port of service.spec.ports) {
        assert.match(port.name ?? '', ISTIO_PORT_NAME, `Service ${service.metadata.name} port ${port.port}`);
      }
    }
  });

  it('gives each service longer to stop than it takes to drain its requests and flush its spans', () => {
    for (const deployment of all('Deployment').filter(({ metadata }) => SERVICES.includes(metadata.name))) {
      const grace = podSpec(deployment).terminationGracePeriodSeconds ?? 30;
      assert.ok(grace * 1000 > LONGEST_STOP_MS, `${deployment.metadata.name}: terminationGracePeriodSeconds ${grace}`);
    }
  });

  it('probes /readyz and /healthz, sets requests and limits, and runs every container restricted', () => {
    for (const workload of workloads()) {
      const name = workload.metadata.name;
      const pod = podSpec(workload);
      assert.equal(pod.securityContext?.runAsNonRoot, true, `${name} runAsNonRoot`);
      assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${name} seccomp`);
      for (const container of pod.containers) {
        for (const kind of ['requests', 'limits'] as const) {
          assert.ok(container.resources?.[kind]?.cpu && container.resources?.[kind]?.memory, `${name} ${kind}`);
        }
        assert.ok(container.readinessProbe && container.livenessProbe, `${name} probes`);
        const security = container.securityContext ?? {};
        assert.equal(security.allowPrivilegeEscalation, false, `${name} allowPrivilegeEscalation`);
        assert.deepEqual(security.capabilities?.drop, ['ALL'], `${name} capabilities`);
        // Kafka's image writes its configuration at start; every other container has a read-only root.
        if (name !== 'kafka') assert.equal(security.readOnlyRootFilesystem, true, `${name} readOnlyRootFilesystem`);
      }
    }
    for (const name of SERVICES) {
      const container = podSpec(find(objects, 'Deployment', name)!).containers[0];
      assert.deepEqual(container.readinessProbe?.httpGet, { path: '/readyz', port: 'http' }, name);
      assert.deepEqual(container.livenessProbe?.httpGet, { path: '/healthz', port: 'http' }, name);
      // Served by no registry: a cluster without the image fails to pull it rather than run someone else's.
      assert.equal(container.image, `localhost/eshop/${name}:dev`);
    }
  });

  it('sets exactly the variables each service reads, with the required ones present and no fault turned on', () => {
    const problems = SERVICES.flatMap((name) =>
      envProblems(name, containerEnv(find(objects, 'Deployment', name)!)).map((problem) => `${name}: ${problem}`),
    );
    assert.deepEqual(problems, []);
  });

  it('keeps every data file on a PersistentVolumeClaim, in one replica that is replaced rather than rolled', () => {
    const files = SERVICES.flatMap((name) => dataFileEnv(name).map((variable) => ({ name, variable })));
    assert.ok(files.length > 0, 'no service names a data file');
    for (const { name, variable } of files) {
      const deployment = find(objects, 'Deployment', name)!;
      const pod = podSpec(deployment);
      const path = containerEnv(deployment)[variable];
      const mount = pod.containers[0].volumeMounts?.find(({ mountPath }) => mountPath === dirname(path));
      assert.ok(mount, `${name}: ${variable}=${path} is not on a mounted volume`);
      const claim = pod.volumes?.find((volume) => volume.name === mount.name)?.persistentVolumeClaim?.claimName;
      assert.ok(
        claim && find(objects, 'PersistentVolumeClaim', claim),
        `${name}: ${mount.name} is a claim that exists`,
      );
      assert.ok(pod.securityContext?.fsGroup !== undefined, `${name}: fsGroup makes the volume writable`);
      assert.equal(deployment.spec.replicas, 1, `${name}: one process writes the file`);
      assert.equal(
        deployment.spec.strategy?.type,
        'Recreate',
        `${name}: the old pod lets go before the new one starts`,
      );
    }
  });

  it('points every address at a Service port that reaches a container listening there', () => {
    const problems: string[] = [];
    for (const name of SERVICES) {
      const deployment = find(objects, 'Deployment', name)!;
      const env = containerEnv(deployment);
      const ports = podSpec(deployment).containers[0].ports;
      assert.deepEqual(
        ports?.map((port) => port.containerPort),
        [Number(env.PORT)],
        `${name} listens on PORT`,
      );
      for (const { name: variable, host, port } of addressesIn(name, env)) {
        const wrongService = !namesHost(variable, host.split('.')[0]);
        if (wrongService || !serviceTargets(host, port))
          problems.push(`${name}: ${variable} → ${host}:${port} is no Service port with a matching container port`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('routes /checkout from the gateway to a Service port that exists', () => {
    const gateways = all('Gateway').map((gateway) => gateway.metadata.name);
    const virtualServices = all('VirtualService');
    assert.ok(virtualServices.length > 0);
    for (const virtualService of virtualServices) {
      for (const gateway of virtualService.spec.gateways ?? [])
        assert.ok(gateways.includes(gateway), `gateway ${gateway}`);
      for (const route of virtualService.spec.http ?? []) {
        for (const { destination } of route.route) {
          assert.ok(
            serviceTargets(destination.host, destination.port?.number),
            `${virtualService.metadata.name} → ${destination.host}`,
          );
        }
      }
    }
    const paths = virtualServices.flatMap((vs) =>
      (vs.spec.http ?? []).flatMap((route) => (route.match ?? []).map((m) => m.uri.exact ?? m.uri.prefix)),
    );
    assert.ok(paths.includes('/checkout'));
  });

  it('names in its AuthorizationPolicies only real ServiceAccounts or the ingress gateway, behind allow-nothing', () => {
    // Which calls each policy allows is tested against the call graph in policies.test.ts.
    const serviceAccounts = new Set(all('ServiceAccount').map((account) => principal(account.metadata.name)));
    const policies = all('AuthorizationPolicy');
    for (const policy of policies) {
      const selector = policy.spec.selector?.matchLabels;
      if (!selector) {
        assert.deepEqual(policy.spec, {}, `${policy.metadata.name}: a namespace-wide policy may only be allow-nothing`);
        continue;
      }
      assert.equal(policy.spec.action ?? 'ALLOW', 'ALLOW');
      const workload = workloads().find((w) =>
        Object.entries(selector).every(([k, v]) => w.spec.template.metadata.labels[k] === v),
      );
      assert.ok(workload, `${policy.metadata.name} selects no workload`);
      const principals = (policy.spec.rules ?? []).flatMap((rule) =>
        (rule.from ?? []).flatMap((from) => from.source.principals ?? []),
      );
      for (const p of principals)
        assert.ok(
          serviceAccounts.has(p) || p === INGRESS_GATEWAY,
          `${policy.metadata.name}: ${p} is no ServiceAccount`,
        );
    }
    assert.ok(
      policies.some((policy) => !policy.spec.selector && Object.keys(policy.spec).length === 0),
      'allow-nothing',
    );
    assert.equal(find(objects, 'PeerAuthentication', 'default')?.spec.mtls?.mode, 'STRICT');
  });

  it('traces every request to the jaeger provider that the Istio install values point at Jaeger', () => {
    const install = parseObjects(readFileSync(join(K8S_DIR, 'istio', 'install-values.yaml'), 'utf8'))[0];
    assert.ok(isKind(install, 'IstioOperator'), `install values are an IstioOperator, not a ${install.kind}`);
    const providers = install.spec.meshConfig.extensionProviders;
    const meshTelemetry = parseObjects(readFileSync(join(K8S_DIR, 'istio', 'mesh-telemetry.yaml'), 'utf8'));
    const telemetries = [...all('Telemetry'), ...ofKind(meshTelemetry, 'Telemetry')];
    assert.equal(telemetries.length, 2);
    for (const telemetry of telemetries) {
      for (const tracing of telemetry.spec.tracing) {
        assert.equal(tracing.randomSamplingPercentage, 100);
        for (const { name } of tracing.providers) {
          const provider = providers.find((p) => p.name === name);
          assert.ok(provider?.opentelemetry, `provider ${name}`);
          assert.ok(
            serviceTargets(provider.opentelemetry.service, provider.opentelemetry.port),
            provider.opentelemetry.service,
          );
        }
      }
    }
    assert.ok(!JSON.stringify(objects).includes('install-values'), 'install values stay out of the kustomization');
  });

  it('runs Kafka as three KRaft nodes, each a voter of one quorum, reached through its headless Service', () => {
    const kafka = find(objects, 'StatefulSet', 'kafka')!;
    assert.ok(kafka.spec.volumeClaimTemplates?.length, 'PersistentVolumeClaim');
    assert.ok(kafka.spec.serviceName, 'serviceName');
    const headless = find(objects, 'Service', kafka.spec.serviceName)!;
    assert.equal(headless.spec.clusterIP, 'None');
    const container = podSpec(kafka).containers[0];
    const env = kafkaEnv(kafka);
    assert.equal(env.KAFKA_PROCESS_ROLES, 'broker,controller');
    assert.equal(env.KAFKA_ADVERTISED_LISTENERS, `PLAINTEXT://$(POD_NAME).${headless.metadata.name}.${DOMAIN}:9092`);
    assert.equal(podSpec(kafka).enableServiceLinks, false, 'no KAFKA_PORT from service links');

    assert.equal(kafka.spec.replicas, 3);
    // Each pod's node id is its ordinal, so that kafka-N is voter N whatever order the pods start in.
    const nodeId = container.env?.find((e) => e.name === 'KAFKA_NODE_ID');
    assert.equal(nodeId?.valueFrom?.fieldRef?.fieldPath, "metadata.labels['apps.kubernetes.io/pod-index']");
    const controllerPort = headless.spec.ports.find((port) => port.port === 9093);
    assert.ok(controllerPort, 'the controller port is on the headless Service');
    assert.ok(container.ports?.some((port) => port.name === controllerPort.targetPort && port.containerPort === 9093));
    const voters = Array.from(
      { length: kafka.spec.replicas },
      (_, ordinal) => `${ordinal}@kafka-${ordinal}.${headless.metadata.name}.${DOMAIN}:9093`,
    );
    assert.equal(env.KAFKA_CONTROLLER_QUORUM_VOTERS, voters.join(','));
    // The other voters connect to it over the pod network: not on loopback.
    assert.equal(listenerHost(env.KAFKA_LISTENERS, 'CONTROLLER'), '');
    // The first pod is ready only once a quorum answers: started one by one, the others would never come.
    assert.equal(kafka.spec.podManagementPolicy, 'Parallel');
  });

  it('keeps every Kafka topic on three nodes, two in sync, with one node allowed to go at a time', () => {
    const kafka = find(objects, 'StatefulSet', 'kafka')!;
    const env = kafkaEnv(kafka);
    assert.equal(env.KAFKA_DEFAULT_REPLICATION_FACTOR, '3');
    assert.equal(env.KAFKA_MIN_INSYNC_REPLICAS, '2');
    assert.equal(env.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR, '3');
    assert.equal(env.KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR, '3');
    assert.equal(env.KAFKA_TRANSACTION_STATE_LOG_MIN_ISR, '2');
    assert.notEqual(env.KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE, 'true');
    const budget = all('PodDisruptionBudget').find((pdb) =>
      Object.entries(pdb.spec.selector.matchLabels).every(([k, v]) => kafka.spec.template.metadata.labels[k] === v),
    );
    assert.ok(budget, 'a PodDisruptionBudget selects the Kafka pods');
    assert.equal(budget.spec.maxUnavailable, 1);
    const spread = podSpec(kafka).affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    assert.ok(
      spread.some(
        ({ podAffinityTerm }) =>
          podAffinityTerm.topologyKey === 'kubernetes.io/hostname' &&
          podAffinityTerm.labelSelector?.matchLabels?.app === 'kafka',
      ),
      'Kafka pods prefer different machines',
    );
  });

  it('admits broker-to-broker and controller traffic between the Kafka pods, and clients on 9092 only', () => {
    const rules = all('AuthorizationPolicy')
      .filter((policy) => policy.spec.selector?.matchLabels.app === 'kafka')
      .flatMap((policy) => policy.spec.rules ?? []);
    const portsFor = (serviceAccount: string) =>
      rules
        .filter((rule) => (rule.from ?? []).some((from) => from.source.principals?.includes(principal(serviceAccount))))
        .flatMap((rule) => rule.to?.flatMap((to) => to.operation.ports ?? []) ?? ['any']);
    assert.deepEqual(portsFor('kafka').sort(), ['9092', '9093']);
    assert.deepEqual(portsFor('eshop'), ['9092']);
    assert.deepEqual(portsFor('kafka-consumer'), ['9092']);
  });

  it("keeps Kafka's data in a folder inside its volume, clear of the disk's lost+found", () => {
    const kafka = find(objects, 'StatefulSet', 'kafka')!;
    const mount = podSpec(kafka).containers[0].volumeMounts?.find(({ name }) => name === 'data');
    assert.ok(mount, 'the data volume is mounted');
    const logDirs = kafkaEnv(kafka).KAFKA_LOG_DIRS;
    assert.ok(isBelow(logDirs, mount.mountPath), `KAFKA_LOG_DIRS=${logDirs} is below ${mount.mountPath}`);
  });

  it('gives the services that wait for Kafka a startupProbe, and readiness longer than /readyz may take', () => {
    const waitForKafka = SERVICES.filter((name) => 'KAFKA_BROKERS' in containerEnv(find(objects, 'Deployment', name)!));
    assert.deepEqual(waitForKafka.sort(), ['delivery', 'eshop', 'kafka-consumer']);
    for (const name of waitForKafka) {
      const container = podSpec(find(objects, 'Deployment', name)!).containers[0];
      const startup = container.startupProbe;
      assert.deepEqual(startup?.httpGet, { path: '/healthz', port: 'http' }, `${name} startupProbe`);
      const budgetSeconds = (startup.periodSeconds ?? 10) * (startup.failureThreshold ?? 3);
      assert.ok(budgetSeconds >= 120, `${name} may wait ${budgetSeconds} s for Kafka at start`);
    }
    for (const name of SERVICES) {
      const timeoutSeconds = podSpec(find(objects, 'Deployment', name)!).containers[0].readinessProbe?.timeoutSeconds;
      assert.ok(
        (timeoutSeconds ?? 1) * 1000 > KAFKA_PROBE_TIMEOUT_MS,
        `${name}: readiness timeout ${timeoutSeconds ?? 1} s is no longer than /readyz's Kafka check`,
      );
    }
  });

  it('sends the services’ spans to Jaeger around their sidecars, not through them', () => {
    for (const name of SERVICES) {
      const deployment = find(objects, 'Deployment', name)!;
      const otlpPort = new URL(containerEnv(deployment).OTEL_EXPORTER_OTLP_ENDPOINT).port;
      const excluded = deployment.spec.template.metadata.annotations?.['traffic.sidecar.istio.io/excludeOutboundPorts'];
      assert.ok(
        excluded
          ?.split(',')
          .map((port) => port.trim())
          .includes(otlpPort),
        `${name} excludes ${otlpPort}`,
      );
    }
  });

  it("bounds Jaeger's memory storage to what its memory limit holds", () => {
    const container = podSpec(find(objects, 'Deployment', 'jaeger')!).containers[0];
    const limit = bytes(container.resources?.limits?.memory ?? '0');
    const maxTraces = jaegerMaxTraces(container.args ?? []);
    assert.ok(
      maxTraces * JAEGER_BYTES_PER_TRACE <= limit,
      `${maxTraces} traces of up to ${JAEGER_BYTES_PER_TRACE} bytes do not fit in ${limit} bytes`,
    );
  });

  /** Whether host:port names a Service in the namespace whose port leads to a named container port. */
  function serviceTargets(host: string, port: number | undefined): boolean {
    const name = host.endsWith(`.${DOMAIN}`)
      ? host.slice(0, -DOMAIN.length - 1)
      : host.includes('.')
        ? undefined
        : host;
    const service = name === undefined ? undefined : find(objects, 'Service', name);
    const servicePort = service?.spec.ports.find((p) => p.port === port);
    const selector = service?.spec.selector;
    if (!servicePort || !selector) return false;
    const workload = workloads().find((w) =>
      Object.entries(selector).every(([k, v]) => w.spec.template.metadata.labels[k] === v),
    );
    const target = servicePort.targetPort ?? port;
    return (
      !!workload &&
      podSpec(workload).containers.some((c) => c.ports?.some((p) => p.name === target || p.containerPort === target))
    );
  }
});

function kafkaEnv(kafka: Kinds['StatefulSet']): Record<string, string> {
  return Object.fromEntries((kafka.spec.template.spec.containers[0].env ?? []).map((e) => [e.name, e.value ?? '']));
}

function containerEnv(deployment: Kinds['Deployment']): Record<string, string> {
  const env = deployment.spec.template.spec.containers[0].env ?? [];
  return Object.fromEntries(env.map(({ name, value }) => [name, value ?? '']));
}
