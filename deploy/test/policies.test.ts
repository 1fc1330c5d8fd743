import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { CALLS, INGRESS_GATEWAY, routeMatches, type Call } from '@eshop/scripts/call-graph';
import { callersOf, clientRequests, type ClientRequest } from '../src/clients';
import { ofKind, parseObjects, type K8sObject } from '../src/k8s';
import { istioAllows, istioPathOf, networkAllows, type Pod } from '../src/policies';
import { REPO_ROOT } from '../src/run';
import { kustomizeBuild } from '../src/tools';

const NAMESPACE = 'eshop';
const principalOf = (caller: string) =>
  caller === INGRESS_GATEWAY
    ? 'cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account'
    : `cluster.local/ns/${NAMESPACE}/sa/${caller}`;
const callerOf = (principal: string) =>
  principal.endsWith('/sa/istio-ingressgateway-service-account') ? INGRESS_GATEWAY : principal.split('/sa/')[1];

/** Kafka and the trace pipeline's collector admit by port, not by request: their own tests cover them. */
const ADMITTED_BY_PORT = ['kafka', 'jaeger-collector'];

/** A path that `route` serves: `/payment/:orderId` → `/payment/order-1`, `/assets/*` → `/assets/app.js`. */
const pathFor = (route: string) => route.replace(/:\w+/g, 'order-1').replace(/\*$/, 'app.js');
const isAllowedCall = (from: string, to: string, method: string, path: string) =>
  CALLS.some(
    (call) => call.from === from && call.to === to && call.method === method && routeMatches(call.route, path),
  );
const describeCall = ({ from, to, method, route }: Call) => `${from} → ${to} ${method} ${route}`;

/** The pods' sides of the manifests: each workload's labels, container ports and environment. */
function workloads(objects: K8sObject[]) {
  return [...ofKind(objects, 'Deployment'), ...ofKind(objects, 'StatefulSet')].map((workload) => ({
    name: workload.metadata.name,
    labels: workload.spec.template.metadata.labels,
    inMesh: workload.spec.template.metadata.labels['sidecar.istio.io/inject'] !== 'false',
    ports: workload.spec.template.spec.containers.flatMap((container) => container.ports ?? []),
    env: workload.spec.template.spec.containers.flatMap((container) => container.env ?? []),
  }));
}

/**
 * Every caller (each ServiceAccount, and the ingress gateway) × every workload in the mesh × every request that
 * anything makes (the call graph's and the clients'): what the policies allow must be exactly the call graph.
 */
function assertPoliciesMatchCallGraph(objects: K8sObject[], requests: ClientRequest[]) {
  const callers = [...ofKind(objects, 'ServiceAccount').map((account) => account.metadata.name), INGRESS_GATEWAY];
  const callees = workloads(objects).filter(
    (workload) => workload.inMesh && !ADMITTED_BY_PORT.includes(workload.labels.app),
  );
  const universe = new Map<string, { method: string; path: string }>();
  for (const { method, route } of CALLS) universe.set(`${method} ${pathFor(route)}`, { method, path: pathFor(route) });
  for (const { method, path } of requests) universe.set(`${method} ${path}`, { method, path });
  const wrong: string[] = [];
  for (const caller of callers) {
    for (const callee of callees) {
      for (const { method, path } of universe.values()) {
        const request = { principal: principalOf(caller), method, path, port: callee.ports[0].containerPort };
        const allowed = istioAllows(objects, callee.labels, request);
        const expected = isAllowedCall(caller, callee.labels.app, method, path);
        if (allowed !== expected) wrong.push(`${caller} → ${callee.name} ${method} ${path}: allowed ${allowed}`);
      }
    }
  }
  assert.deepEqual(wrong, []);
  return callers.length * callees.length * universe.size;
}

/**
 * Every pod of the namespace, the ingress gateway and a pod of another namespace, against each port of the pods
 * that hold spans: a port is reachable from exactly the workloads that `reaches` names.
 */
function assertNetworkPolicies(objects: K8sObject[], target: string, reaches: Record<string, string[]>) {
  const inNamespace = (name: string) => ({ [`kubernetes.io/metadata.name`]: name });
  const pods: (Pod & { name: string })[] = [
    ...workloads(objects).map(({ name, labels }) => ({ name, labels, namespaceLabels: inNamespace(NAMESPACE) })),
    {
      name: INGRESS_GATEWAY,
      labels: { app: 'istio-ingressgateway', istio: 'ingressgateway' },
      namespaceLabels: inNamespace('istio-system'),
    },
    { name: 'a pod of another namespace', labels: { app: 'eshop' }, namespaceLabels: inNamespace('default') },
  ];
  const jaeger = workloads(objects).find((workload) => workload.name === target)!;
  const wrong: string[] = [];
  for (const port of jaeger.ports) {
    for (const pod of pods) {
      const allowed = networkAllows(
        objects,
        {
          labels: jaeger.labels,
          namespaceLabels: inNamespace(NAMESPACE),
          port: { name: port.name!, number: port.containerPort },
        },
        pod,
      );
      const expected = reaches[port.name!]?.includes(pod.name) ?? false;
      if (allowed !== expected) wrong.push(`${pod.name} → ${target}:${port.name}: allowed ${allowed}`);
    }
  }
  assert.deepEqual(wrong, []);
}

/** The workloads whose applications export spans: they are told where (OTEL_EXPORTER_OTLP_ENDPOINT). */
const exporters = (objects: K8sObject[]) =>
  workloads(objects)
    .filter((workload) => workload.env.some((variable) => variable.name === 'OTEL_EXPORTER_OTLP_ENDPOINT'))
    .map((workload) => workload.name);
const jaegerReaders = CALLS.filter((call) => call.to === 'jaeger').map((call) => call.from);

describe('the call graph, the clients and the mesh policies', () => {
  let requests: ClientRequest[];
  let k8s: K8sObject[];
  let pipeline: K8sObject[];
  before(async () => {
    requests = await clientRequests();
    k8s = parseObjects(kustomizeBuild(join(REPO_ROOT, 'k8s')));
    pipeline = parseObjects(kustomizeBuild(join(REPO_ROOT, 'trace-pipeline')));
  });

  it('has every request of every client in the call graph, from the services whose code calls it, and nothing more', () => {
    const derived = requests.flatMap(({ to, operation, method, path }) => {
      const callers = callersOf(operation, to);
      assert.ok(callers.length > 0, `no service calls ${to}'s ${operation}`);
      return callers.map((from) => {
        const call = CALLS.find(
          (c) => c.from === from && c.to === to && c.method === method && routeMatches(c.route, path),
        );
        assert.ok(call, `${from} calls ${to}'s ${operation} (${method} ${path}), which the call graph does not have`);
        return describeCall(call);
      });
    });
    const clientServices = new Set(requests.map((request) => request.to));
    assert.deepEqual(
      [...new Set(derived)].sort(),
      CALLS.filter((call) => clientServices.has(call.to))
        .map(describeCall)
        .sort(),
    );
  });

  it('routes every call from outside through the gateway, /graphql included, and nothing else', () => {
    const outside = CALLS.filter((call) => call.from === INGRESS_GATEWAY).map((call) => pathFor(call.route));
    const matches = ofKind(k8s, 'VirtualService').flatMap((vs) =>
      (vs.spec.http ?? []).flatMap((route) => (route.match ?? []).map((match) => match.uri)),
    );
    const routed = (path: string) =>
      matches.some(({ exact, prefix }) => exact === path || (prefix !== undefined && path.startsWith(prefix)));
    assert.deepEqual(
      outside.filter((path) => !routed(path)),
      [],
      'calls from outside that the gateway does not route',
    );
    assert.ok(outside.includes('/graphql'));
    for (const { exact, prefix } of matches) {
      assert.ok(
        outside.some((path) => path === exact || (prefix !== undefined && path.startsWith(prefix))),
        `the gateway routes ${exact ?? prefix}, which no call in the graph uses`,
      );
    }
  });

  it('has each AuthorizationPolicy allow its callers exactly the methods and paths of their calls', () => {
    for (const objects of [k8s, pipeline]) {
      for (const policy of ofKind(objects, 'AuthorizationPolicy')) {
        const app = policy.spec.selector?.matchLabels.app;
        if (!app || ADMITTED_BY_PORT.includes(app)) continue;
        const allowed = (policy.spec.rules ?? []).flatMap((rule) =>
          (rule.from ?? []).flatMap(({ source }) =>
            (source.principals ?? []).flatMap((principal) =>
              (rule.to ?? []).flatMap(({ operation }) =>
                (operation.methods ?? []).flatMap((method) =>
                  (operation.paths ?? []).map((path) => `${callerOf(principal)} ${method} ${path}`),
                ),
              ),
            ),
          ),
        );
        const expected = CALLS.filter((call) => call.to === app).map(
          (call) => `${call.from} ${call.method} ${istioPathOf(call.route)}`,
        );
        assert.deepEqual([...new Set(allowed)].sort(), [...new Set(expected)].sort(), policy.metadata.name);
      }
    }
  });

  it('allows every call of the graph in k8s/ and denies every other caller, method and path', () => {
    const evaluated = assertPoliciesMatchCallGraph(k8s, requests);
    console.log(`# ${evaluated} requests evaluated against k8s/`);
  });

  it('does the same in trace-pipeline/, where the ingester is in the mesh', () => {
    assertPoliciesMatchCallGraph(pipeline, requests);
  });

  it("lets only the span exporters and the gateway reach Jaeger's OTLP ports, and only eshop its query API", () => {
    const senders = [...exporters(k8s), INGRESS_GATEWAY];
    assertNetworkPolicies(k8s, 'jaeger', { 'grpc-otlp': senders, 'http-otlp': senders, 'http-query': jaegerReaders });
  });

  it("lets the same reach the pipeline's collector, with the pipeline's own sidecars, and only eshop the ingester", () => {
    // In trace-pipeline/ the ingester and the collector have sidecars, whose Envoys trace what they serve.
    const senders = [...exporters(pipeline), INGRESS_GATEWAY, 'jaeger', 'jaeger-collector'];
    assertNetworkPolicies(pipeline, 'jaeger-collector', { 'grpc-otlp': senders, 'http-otlp': senders });
    assertNetworkPolicies(pipeline, 'jaeger', { 'http-query': jaegerReaders });
  });
});
