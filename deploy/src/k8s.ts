import { parseAllDocuments } from 'yaml';

/** What every Kubernetes and Istio object has; what is under `spec` depends on the kind (see `Kinds`). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: unknown;
}

/** An object of a kind whose spec the checks read. */
export interface Of<Spec> extends K8sObject {
  spec: Spec;
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports?: { name?: string; containerPort: number }[];
  resources?: Partial<Record<'requests' | 'limits', { cpu?: string; memory?: string }>>;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  volumeMounts?: { name: string; mountPath: string }[];
  securityContext?: {
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[] };
  };
}

export interface Probe {
  httpGet?: { path: string; port: string | number };
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
}

export interface PodSpec {
  terminationGracePeriodSeconds?: number;
  serviceAccountName?: string;
  enableServiceLinks?: boolean;
  securityContext?: { runAsNonRoot?: boolean; fsGroup?: number; seccompProfile?: { type: string } };
  affinity?: {
    podAntiAffinity?: {
      preferredDuringSchedulingIgnoredDuringExecution?: {
        podAffinityTerm: { topologyKey: string; labelSelector?: { matchLabels?: Record<string, string> } };
      }[];
    };
  };
  containers: Container[];
  volumes?: { name: string; persistentVolumeClaim?: { claimName: string } }[];
}

/** A Deployment's or a StatefulSet's spec. */
export interface WorkloadSpec {
  template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec };
  replicas?: number;
  podManagementPolicy?: string;
  strategy?: { type: string };
  serviceName?: string;
  volumeClaimTemplates?: unknown[];
}

export interface ServiceSpec {
  selector?: Record<string, string>;
  clusterIP?: string;
  ports: { name?: string; port: number; targetPort?: string | number }[];
}

export interface VirtualServiceSpec {
  gateways?: string[];
  http?: {
    match?: { uri: { exact?: string; prefix?: string } }[];
    route: { destination: { host: string; port?: { number: number } } }[];
  }[];
}

/** An allow-nothing policy is `{}`; the others select a workload and allow named principals some operations. */
export interface AuthorizationPolicySpec {
  selector?: { matchLabels: Record<string, string> };
  action?: string;
  rules?: {
    from?: { source: { principals?: string[] } }[];
    to?: { operation: { methods?: string[]; paths?: string[]; ports?: string[] } }[];
  }[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export interface NetworkPolicySpec {
  podSelector: LabelSelector;
  policyTypes?: string[];
  ingress?: {
    from?: { podSelector?: LabelSelector; namespaceSelector?: LabelSelector }[];
    ports?: { port: string | number }[];
  }[];
}

export interface PodDisruptionBudgetSpec {
  selector: { matchLabels: Record<string, string> };
  maxUnavailable?: number | string;
  minAvailable?: number | string;
}

export interface TelemetrySpec {
  tracing: { randomSamplingPercentage?: number; providers: { name: string }[] }[];
}

export interface IstioOperatorSpec {
  meshConfig: { extensionProviders: { name: string; opentelemetry?: { service: string; port: number } }[] };
}

/** The shape the checks read, by kind. */
export interface Kinds {
  Namespace: K8sObject;
  ServiceAccount: K8sObject;
  Deployment: Of<WorkloadSpec>;
  StatefulSet: Of<WorkloadSpec>;
  PersistentVolumeClaim: K8sObject;
  PodDisruptionBudget: Of<PodDisruptionBudgetSpec>;
  Service: Of<ServiceSpec>;
  Gateway: K8sObject;
  VirtualService: Of<VirtualServiceSpec>;
  AuthorizationPolicy: Of<AuthorizationPolicySpec>;
  NetworkPolicy: Of<NetworkPolicySpec>;
  PeerAuthentication: Of<{ mtls?: { mode: string } }>;
  Telemetry: Of<TelemetrySpec>;
  IstioOperator: Of<IstioOperatorSpec>;
}

export function parseObjects(yamlText: string): K8sObject[] {
  return parseAllDocuments(yamlText)
    .map((document) => {
      if (document.errors.length > 0) throw new Error(document.errors.map(String).join('\n'));
      return document.toJS() as K8sObject | null;
    })
    .filter((object): object is K8sObject => object !== null);
}

/**
 * Narrows an object by its kind. The kind is all that is checked here: kubernetes-validate and Istio's CRD
 * schemas check that the object has that kind's shape.
 */
export function isKind<K extends keyof Kinds>(object: K8sObject, kind: K): object is Kinds[K] {
  return object.kind === kind;
}

export function ofKind<K extends keyof Kinds>(objects: K8sObject[], kind: K): Kinds[K][] {
  return objects.filter((object): object is Kinds[K] => isKind(object, kind));
}

export const isIstio = (object: K8sObject) => object.apiVersion.split('/')[0].endsWith('istio.io');

export function find<K extends keyof Kinds>(objects: K8sObject[], kind: K, name: string): Kinds[K] | undefined {
  return ofKind(objects, kind).find((object) => object.metadata.name === name);
}

/** Istio picks a Service port's protocol from its name's prefix; an unnamed port is sniffed. */
export const ISTIO_PORT_NAME = /^(http|http2|https|grpc|grpc-web|tcp|tls|mongo|mysql|redis)(-.+)?$/;
