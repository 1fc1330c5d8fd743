import { ofKind, type K8sObject, type LabelSelector } from './k8s';

/**
 * The parts of Istio's AuthorizationPolicy and of Kubernetes' NetworkPolicy that the manifests use, evaluated as
 * Istio and the CNI would, so that a test can ask "may this caller make this call?" of the policies themselves. A
 * field or operator the evaluator does not know makes it throw rather than guess.
 */

export interface Request {
  /** The caller's mTLS identity, `cluster.local/ns/<ns>/sa/<account>`. */
  principal: string;
  method: string;
  /** Without the query string: Istio's `paths` does not see it. */
  path: string;
  port: number;
}

const KNOWN: Record<string, string[]> = {
  spec: ['selector', 'action', 'rules'],
  rule: ['from', 'to'],
  source: ['principals'],
  operation: ['methods', 'paths', 'ports'],
};

function onlyKnown(what: string, value: object, policy: string): void {
  const unknown = Object.keys(value).filter((key) => !KNOWN[what].includes(key));
  if (unknown.length > 0) throw new Error(`${policy}: the evaluator does not know the ${what} field ${unknown.join()}`);
}

/** Istio's string match for `paths`: exact, `prefix*`, `*suffix` or `*`. */
export function istioPathMatches(pattern: string, path: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return path.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith('*')) return path.endsWith(pattern.slice(1));
  return pattern === path;
}

/**
 * The Istio path that admits an express route: from its first parameter on, anything (`/payment/:orderId` →
 * `/payment/*`), since Istio has no pattern for one segment.
 */
export function istioPathOf(route: string): string {
  const at = route.search(/\/(:|\*$)/);
  return at === -1 ? route : `${route.slice(0, at)}/*`;
}

/**
 * Whether the sidecar of a workload labelled `labels` lets `request` in. ALLOW policies only, as the manifests
 * have: with none that applies, everything is allowed; with any (allow-nothing applies to all), only what a rule
 * of one of them matches.
 */
export function istioAllows(objects: K8sObject[], labels: Record<string, string>, request: Request): boolean {
  const policies = ofKind(objects, 'AuthorizationPolicy').filter(({ spec }) => selects(spec.selector ?? {}, labels));
  for (const { metadata, spec } of policies) {
    onlyKnown('spec', spec, metadata.name);
    if ((spec.action ?? 'ALLOW') !== 'ALLOW') throw new Error(`${metadata.name}: only ALLOW policies are evaluated`);
  }
  return (
    policies.length === 0 ||
    policies.some(({ metadata, spec }) =>
      (spec.rules ?? []).some((rule) => {
        onlyKnown('rule', rule, metadata.name);
        const fromMatches = (rule.from ?? [{ source: {} }]).some(({ source }) => {
          onlyKnown('source', source, metadata.name);
          return !source.principals || source.principals.includes(request.principal);
        });
        const toMatches = (rule.to ?? [{ operation: {} }]).some(({ operation }) => {
          onlyKnown('operation', operation, metadata.name);
          return (
            (!operation.methods || operation.methods.includes(request.method)) &&
            (!operation.paths || operation.paths.some((pattern) => istioPathMatches(pattern, request.path))) &&
            (!operation.ports || operation.ports.includes(String(request.port)))
          );
        });
        return fromMatches && toMatches;
      }),
    )
  );
}

/** A pod as a NetworkPolicy sees it: its namespace's labels and its own. */
export interface Pod {
  namespaceLabels: Record<string, string>;
  labels: Record<string, string>;
}

const NAMESPACE_NAME = 'kubernetes.io/metadata.name';

function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  return (
    Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value) &&
    (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
      if (operator !== 'In') throw new Error(`the evaluator knows the In operator only, not ${operator}`);
      return values.includes(labels[key]);
    })
  );
}

/**
 * Whether the NetworkPolicies of the target's namespace let `source` reach `target` on its container port
 * `port` (by name or number, as a policy may say either). A pod that no policy selects for Ingress takes anything.
 */
export function networkAllows(
  objects: K8sObject[],
  target: Pod & { port: { name: string; number: number } },
  source: Pod,
): boolean {
  const policies = ofKind(objects, 'NetworkPolicy').filter(
    ({ spec }) => selects(spec.podSelector, target.labels) && (spec.policyTypes ?? ['Ingress']).includes('Ingress'),
  );
  const sameNamespace = source.namespaceLabels[NAMESPACE_NAME] === target.namespaceLabels[NAMESPACE_NAME];
  return (
    policies.length === 0 ||
    policies.some(({ spec }) =>
      (spec.ingress ?? []).some(
        (rule) =>
          (!rule.from ||
            rule.from.some(
              (peer) =>
                (peer.namespaceSelector ? selects(peer.namespaceSelector, source.namespaceLabels) : sameNamespace) &&
                selects(peer.podSelector ?? {}, source.labels),
            )) &&
          (rule.ports ?? [{ port: target.port.name }]).some(
            ({ port }) => port === target.port.name || port === target.port.number,
          ),
      ),
    )
  );
}
