// The cluster's programs, each built once from its upstream Go module (or C source) into the cache.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CACHE_DIR } from '../paths';
import { commandExists, run, SetupError } from '../processes';
import type { Progress } from '../provision';

export const KUBERNETES_VERSION = 'v1.34.4';
/** The version of the `k8s.io/*` staging modules published with KUBERNETES_VERSION. */
const STAGING_VERSION = 'v0.34.4';
export const ETCD_VERSION = 'v3.6.17';
export const COREDNS_VERSION = 'v1.15.0';
/** Istio's API module carries the CRDs; with no Envoy to run, the CRDs are all of Istio the cluster gets. */
export const ISTIO_API_VERSION = 'v1.32.0';
/** The sandbox image's name: what containerd and the kubelet agree on; built here from kubernetes' pause.c. */
export const PAUSE_IMAGE = 'registry.k8s.io/pause:3.10';

/** Everything the cluster keeps between runs: Go's caches, the binaries, and (while up) its state. */
export const KUBE_DIR = join(CACHE_DIR, 'kube');
const GO_ENV = {
  ...process.env,
  GOPATH: join(KUBE_DIR, 'go'),
  GOCACHE: join(KUBE_DIR, 'go-build'),
  // The generated modules below have no go.sum: Go records the sums as it downloads.
  GOFLAGS: '-mod=mod',
  CGO_ENABLED: '0',
  // etcd names a newer patch toolchain than it needs; build with the Go that is installed.
  GOTOOLCHAIN: 'local',
};

export const KUBERNETES_COMMANDS = [
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubelet',
  'kube-proxy',
  'kubectl',
] as const;

/** Where a Kubernetes command is once built. */
export const kubernetesBinary = (command: (typeof KUBERNETES_COMMANDS)[number]) =>
  join(KUBE_DIR, `kubernetes-${KUBERNETES_VERSION}`, command);

export interface Binaries {
  /** Each Kubernetes command by name, then etcd, coredns and pause. */
  readonly path: (name: (typeof KUBERNETES_COMMANDS)[number] | 'etcd' | 'coredns' | 'pause') => string;
  /** Istio's CRDs, one multi-document YAML file. */
  readonly istioCrds: string;
}

/** Builds whatever is not in the cache yet, one module at a time (each build uses every core). */
export async function ensureBinaries(progress: Progress): Promise<Binaries> {
  requireCommand(
    'go',
    'Kubernetes is built from its Go modules: install Go 1.24 or newer (https://go.dev/doc/install).',
  );
  requireCommand('gcc', 'The pause image is compiled from C: install gcc and the static C library (build-essential).');
  const kubernetes = await ensureKubernetes(progress);
  const etcd = await ensureModuleBuild(progress, 'etcd', `go.etcd.io/etcd/server/v3 ${ETCD_VERSION}`, {
    package: 'go.etcd.io/etcd/server/v3',
  });
  const coredns = await ensureModuleBuild(progress, 'coredns', `github.com/coredns/coredns ${COREDNS_VERSION}`, {
    main: COREDNS_MAIN,
  });
  const pause = await ensurePause(progress, kubernetes.sources);
  const istio = await goModDownload(`istio.io/api@${ISTIO_API_VERSION}`);
  return {
    path: (name) =>
      name === 'etcd' ? etcd : name === 'coredns' ? coredns : name === 'pause' ? pause : join(kubernetes.bin, name),
    istioCrds: join(istio.Dir, 'kubernetes', 'customresourcedefinitions.gen.yaml'),
  };
}

/**
 * k8s.io/kubernetes is published without its `staging/` folder, whose modules its go.mod replaces with local
 * paths. So it is built from a module of our own that requires it and replaces each of those modules with the
 * version published alongside, derived from kubernetes' own go.mod (its `go` and `godebug` lines too).
 */
async function ensureKubernetes(progress: Progress): Promise<{ bin: string; sources: string }> {
  const bin = dirname(kubernetesBinary('kubectl'));
  const download = await goModDownload(`k8s.io/kubernetes@${KUBERNETES_VERSION}`);
  if (KUBERNETES_COMMANDS.every((command) => existsSync(join(bin, command)))) return { bin, sources: download.Dir };

  const upstream = await readFile(download.GoMod, 'utf8');
  const directives = upstream.split('\n').filter((line) => /^(go|godebug) /.test(line));
  const staging = [...upstream.matchAll(/^\s+(k8s\.io\/[\w.-]+) => \.\/staging\//gm)].map((match) => match[1]);
  if (staging.length === 0) throw new Error(`no staging replaces found in ${download.GoMod}`);
  const goMod = [
    'module eshop.local/kubernetes',
    '',
    ...directives,
    '',
    `require k8s.io/kubernetes ${KUBERNETES_VERSION}`,
    '',
    'replace (',
    ...staging.map((module) => `\t${module} => ${module} ${STAGING_VERSION}`),
    ')',
    '',
  ].join('\n');
  // What `kubectl version` and the node's status report, as the official release build stamps it.
  const [major, minor] = KUBERNETES_VERSION.slice(1).split('.');
  const stamp = ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].flatMap((pkg) => [
    `-X ${pkg}.gitVersion=${KUBERNETES_VERSION}`,
    `-X ${pkg}.gitMajor=${major}`,
    `-X ${pkg}.gitMinor=${minor}`,
    `-X ${pkg}.gitTreeState=clean`,
  ]);
  progress(
    `building Kubernetes ${KUBERNETES_VERSION} (${KUBERNETES_COMMANDS.join(', ')}) with ${staging.length} ` +
      'staging modules replaced (once: about 7 minutes on two idle cores, 4.5 GB of Go caches)',
  );
  await goBuild(progress, 'kubernetes', goMod, `${bin}/`, [
    `-ldflags=-s -w ${stamp.join(' ')}`,
    ...KUBERNETES_COMMANDS.map((command) => `k8s.io/kubernetes/cmd/${command}`),
  ]);
  progress(`  Kubernetes ready in ${bin}`);
  return { bin, sources: download.Dir };
}

/**
 * CoreDNS with the plugins the cluster's Corefile uses, as CoreDNS documents custom builds: its own main imports
 * them and lists their directives in CoreDNS's order. The full build would compile every cloud provider's SDK.
 */
const COREDNS_MAIN = `package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/ready"
)

func main() {
	dnsserver.Directives = []string{"bind", "ready", "health", "errors", "cache", "kubernetes"}
	coremain.Run()
}
`;

/** A command from a module that needs no replaces: a main package of the module, or a main of our own. */
async function ensureModuleBuild(
  progress: Progress,
  name: string,
  requirement: string,
  source: { package: string } | { main: string },
) {
  const [, version] = requirement.split(' ');
  const binary = join(KUBE_DIR, `${name}-${version}`, name);
  if (existsSync(binary)) return binary;
  progress(`building ${name} ${version} from its Go module (once, a few minutes)`);
  const goMod = `module eshop.local/${name}\n\ngo 1.24.0\n\nrequire ${requirement}\n`;
  const [target, main] = 'main' in source ? ['.', source.main] : [source.package, undefined];
  await goBuild(progress, name, goMod, `${binary}.partial`, ['-ldflags=-s -w', target], main);
  await rename(`${binary}.partial`, binary);
  progress(`  ${name} ready: ${binary}`);
  return binary;
}

/** `go build -o output args` in a generated module; `output` ending in `/` is a folder for several commands. */
async function goBuild(progress: Progress, name: string, goMod: string, output: string, args: string[], main?: string) {
  const moduleDir = join(KUBE_DIR, 'modules', name);
  await mkdir(moduleDir, { recursive: true });
  await mkdir(dirname(output), { recursive: true });
  await writeFile(join(moduleDir, 'go.mod'), goMod);
  if (main) await writeFile(join(moduleDir, 'main.go'), main);
  let compiled = 0;
  await run('go', ['build', '-v', '-trimpath', '-o', output, ...args], {
    cwd: moduleDir,
    env: GO_ENV,
    onLine: () => {
      if (++compiled % 200 === 0) progress(`  ${name}: ${compiled} packages built`);
    },
  });
}

/** The sandbox's init process, from kubernetes' own source, as its release images carry it. */
async function ensurePause(progress: Progress, kubernetesSources: string): Promise<string> {
  const binary = join(KUBE_DIR, `pause-${KUBERNETES_VERSION}`, 'pause');
  if (existsSync(binary)) return binary;
  progress('compiling pause from build/pause/linux/pause.c');
  await mkdir(join(KUBE_DIR, `pause-${KUBERNETES_VERSION}`), { recursive: true });
  await run('gcc', [
    '-Os',
    '-static',
    `-DVERSION=${KUBERNETES_VERSION}`,
    '-o',
    binary,
    join(kubernetesSources, 'build', 'pause', 'linux', 'pause.c'),
  ]);
  return binary;
}

/** Fetches a module from the Go module proxy into the cache, if it is not there yet. */
async function goModDownload(module: string): Promise<{ Dir: string; GoMod: string }> {
  const lines = await run('go', ['mod', 'download', '-json', module], { env: GO_ENV });
  return JSON.parse(lines.join('\n')) as { Dir: string; GoMod: string };
}

function requireCommand(command: string, advice: string): void {
  if (!commandExists(command)) throw new SetupError(`\`${command}\` not found. ${advice}`);
}
