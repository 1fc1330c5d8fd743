import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CACHE_DIR } from '@eshop/scripts/paths';
import { stringify } from 'yaml';
import type { K8sObject } from './k8s';
import { DEPLOY_DIR, run, runOk } from './run';

// The validators, pinned, fetched on first use (the first run of these tests on a fresh machine downloads them):
// the Go ones through the Go module proxy, kubernetes-validate from PyPI into a virtual environment in the cache.

/** kustomize as embedded in kubectl 1.34: renders k8s/ exactly as `kubectl apply -k k8s/` would send it. */
export const KUSTOMIZE = 'sigs.k8s.io/kustomize/kustomize/v5@v5.7.1';
/** Istio's API module: kubernetes/customresourcedefinitions.gen.yaml holds the CRDs istioctl installs. */
export const ISTIO_API = 'istio.io/api@v1.29.2';
/** The oldest Kubernetes the manifests are meant for (Istio 1.29 supports 1.31 and later). */
export const KUBERNETES_VERSION = '1.31.0';
const KUBERNETES_VALIDATE = 'kubernetes-validate==1.37.0';

/** The kubernetes-validate program, installed into the cache the first time it is asked for. */
export function kubernetesValidateProgram(): string {
  const venv = join(CACHE_DIR, 'kubernetes-validate-1.37.0');
  // A virtual environment cannot be moved once made, so a marker says this one was finished.
  const complete = join(venv, '.complete');
  if (!existsSync(complete)) {
    rmSync(venv, { recursive: true, force: true });
    runOk('python3', ['-m', 'venv', venv], { hint: 'needs Python 3 with its venv module' });
    const pip = join(venv, 'bin', 'pip');
    runOk(pip, ['install', '--quiet', '--disable-pip-version-check', KUBERNETES_VALIDATE], { timeout: 600_000 });
    writeFileSync(complete, '');
  }
  return join(venv, 'bin', 'kubernetes-validate');
}

/** Validates with kubernetes-validate --strict: unknown fields are errors, and so is any warning. */
export function kubernetesValidate(objects: K8sObject[]): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'eshop-k8s-'));
  try {
    const file = join(dir, 'objects.yaml');
    writeFileSync(file, objects.map((object) => stringify(object)).join('---\n'));
    const result = run(kubernetesValidateProgram(), ['--strict', '--quiet', '-k', KUBERNETES_VERSION, file]);
    // On failure it also prints Python tracebacks with the whole schema: its ERROR lines say enough.
    return { status: result.status, output: result.stdout.trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Renders the kustomization into YAML. */
export function kustomizeBuild(dir: string): string {
  return runOk('go', ['run', KUSTOMIZE, 'build', dir], { hint: 'needs Go' });
}

/**
 * Loads a compose file, and any override files after it, through compose-go, as `docker compose -f ... config`
 * does, and returns the project. Files ending in `.env` are env files instead: they replace the `.env` beside it,
 * as `--env-file` does, and enable the profiles they name.
 */
export function composeConfig(file: string, ...more: string[]): ComposeProject {
  const out = runOk('go', ['run', '.', file, ...more], {
    cwd: join(DEPLOY_DIR, 'compose-check'),
    hint: 'needs Go',
  });
  return JSON.parse(out) as ComposeProject;
}

/** Where the Go module proxy put Istio's API module. */
export function istioApiDir(): string {
  const out = runOk('go', ['mod', 'download', '-json', ISTIO_API], { hint: 'needs Go' });
  return (JSON.parse(out) as { Dir: string }).Dir;
}

export interface ComposeService {
  image?: string;
  pull_policy?: string;
  command?: string[];
  build?: { context: string; dockerfile?: string; args?: Record<string, string> };
  environment?: Record<string, string | null>;
  depends_on?: Record<string, { condition: string; required?: boolean }>;
  healthcheck?: { test?: string[]; disable?: boolean };
  deploy?: { resources?: { limits?: { memory?: string } } };
  restart?: string;
  /** A Go duration, as compose-go writes it: `1m0s`. */
  stop_grace_period?: string;
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
