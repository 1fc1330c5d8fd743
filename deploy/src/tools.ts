import { join } from 'node:path';
import { DEPLOY_DIR, runOk } from './run';

// The validators, pinned. The Go ones come through the Go module proxy and are built on first use (the first
// run of these tests on a fresh machine downloads them). kubernetes-validate is a PyPI package installed by .ci/run.

/** kustomize as embedded in kubectl 1.34: renders k8s/ exactly as `kubectl apply -k k8s/` would send it. */
export const KUSTOMIZE = 'sigs.k8s.io/kustomize/kustomize/v5@v5.7.1';
/** Istio's API module: kubernetes/customresourcedefinitions.gen.yaml holds the CRDs istioctl installs. */
export const ISTIO_API = 'istio.io/api@v1.29.2';
/** The oldest Kubernetes the manifests are meant for (Istio 1.29 supports 1.31 and later). */
export const KUBERNETES_VERSION = '1.31.0';
export const KUBERNETES_VALIDATE_HINT = 'install it with: pip install kubernetes-validate==1.37.0';

/** Renders the kustomization into YAML. */
export function kustomizeBuild(dir: string): string {
  return runOk('go', ['run', KUSTOMIZE, 'build', dir], { hint: 'needs Go' });
}

/** Loads a compose file through compose-go, as `docker compose config` does, and returns the project. */
export function composeConfig(file: string): ComposeProject {
  const out = runOk('go', ['run', '.', file], { cwd: join(DEPLOY_DIR, 'compose-check'), hint: 'needs Go' });
  return JSON.parse(out) as ComposeProject;
}

/** Where the Go module proxy put Istio's API module. */
export function istioApiDir(): string {
  const out = runOk('go', ['mod', 'download', '-json', ISTIO_API], { hint: 'needs Go' });
  return (JSON.parse(out) as { Dir: string }).Dir;
}

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string; args?: Record<string, string> };
  environment?: Record<string, string | null>;
  depends_on?: Record<string, { condition: string; required?: boolean }>;
  healthcheck?: { test?: string[]; disable?: boolean };
  deploy?: { resources?: { limits?: { memory?: string } } };
  restart?: string;
  logging?: { driver?: string };
  expose?: string[];
  ports?: { target: number; published?: string; host_ip?: string }[];
  volumes?: { type: string; source?: string; target: string }[];
}

export interface ComposeProject {
  name: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}
