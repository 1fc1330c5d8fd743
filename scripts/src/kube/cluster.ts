// A single-node Kubernetes on this machine: containerd, etcd, the control plane, a kubelet, kube-proxy and
// CoreDNS as processes in a network namespace of their own, so their bridge, routes and iptables rules never
// touch the host's (or Docker's). A veth pair joins it to the host: the apiserver, the Services' ClusterIPs and
// the pods are reachable from the host through it, and `pnpm kube down` deletes the namespace with all of it.
import { spawn } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from '../paths';
import { commandExists, run, SetupError, waitFor } from '../processes';
import type { Progress } from '../provision';
import { ensureBinaries, KUBE_DIR, kubernetesBinary, PAUSE_IMAGE, type Binaries } from './build';
import { importImage, loadDockerImages } from './images';
import { createPki, type Pki } from './pki';

const NETNS = 'eshop-kube';
const NETNS_PATH = `/run/netns/${NETNS}`;
const HOST_VETH = 'eshop-kube0';
const HOST_IP = '10.245.0.1';
/** The node's address: the apiserver advertises it, the kubelet reports it, CoreDNS listens on it. */
const NODE_IP = '10.245.0.2';
const NODE_NAME = 'eshop-node';
const POD_CIDR = '10.244.0.0/16';
const NODE_POD_CIDR = '10.244.0.0/24';
const SERVICE_CIDR = '10.96.0.0/16';
const APISERVER_SERVICE_IP = '10.96.0.1';
const DNS_SERVICE_IP = '10.96.0.10';
const APISERVER_URL = `https://${NODE_IP}:6443`;

/** Everything `up` creates beneath the cache; `down` deletes it. */
const STATE_DIR = join(KUBE_DIR, 'state');
/** The administrator's kubeconfig: `KUBECONFIG=<this> kubectl ...` from the host. */
export const ADMIN_KUBECONFIG = join(STATE_DIR, 'pki', 'admin.kubeconfig');
const LOG_DIR = join(STATE_DIR, 'logs');
const PID_DIR = join(STATE_DIR, 'pids');
const CONTAINERD_SOCKET = join(STATE_DIR, 'containerd', 'containerd.sock');
const FLEX_VOLUME_DIR = join(STATE_DIR, 'flexvolume');
/** Enough for every PVC of k8s/ (three Kafka nodes, eshop, notification, the services' databases) and a few more. */
const VOLUMES = 12;

/**
 * Where the kubelet, containerd and the CNI plugins write whatever their flags say. Whichever of these did not
 * exist before `up` is removed by `down`; one that did (Docker's containerd owns /run/containerd) is left.
 */
const WRITTEN_OUTSIDE = ['/var/lib/kubelet', '/var/log/containers', '/var/log/pods', '/var/lib/cni', '/run/containerd'];
const CREATED_OUTSIDE = join(KUBE_DIR, 'created-outside.json');

/** The daemons, in start order; `down` stops them in reverse. */
const DAEMONS = [
  'containerd',
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubelet',
  'kube-proxy',
  'coredns',
] as const;
type Daemon = (typeof DAEMONS)[number];

export async function up(progress: Progress): Promise<void> {
  for (const command of ['ip', 'nsenter', 'iptables', 'openssl', 'containerd', 'runc', 'ctr', 'docker']) {
    if (!commandExists(command)) throw new SetupError(`\`${command}\` not found: ${ADVICE[command] ?? 'install it'}.`);
  }
  if (process.getuid?.() !== 0) throw new SetupError('pnpm kube up runs a kubelet and containerd: run it as root.');
  if (!existsSync('/usr/lib/cni/bridge')) {
    throw new SetupError('no CNI plugins in /usr/lib/cni: `apt-get install containernetworking-plugins`.');
  }
  if (existsSync(STATE_DIR) || existsSync(NETNS_PATH)) {
    throw new SetupError(`a cluster is already up (${STATE_DIR}): \`pnpm kube down\` first.`);
  }
  const binaries = await ensureBinaries(progress);

  const existed = WRITTEN_OUTSIDE.filter((path) => existsSync(path));
  await writeFile(CREATED_OUTSIDE, JSON.stringify(WRITTEN_OUTSIDE.filter((path) => !existed.includes(path))));
  for (const dir of [LOG_DIR, PID_DIR, FLEX_VOLUME_DIR]) await mkdir(dir, { recursive: true });
  progress(`network namespace ${NETNS}: node ${NODE_IP}, host side ${HOST_IP} on ${HOST_VETH}`);
  await createNetwork();

  const pki = await createPki(join(STATE_DIR, 'pki'), {
    nodeName: NODE_NAME,
    apiserverUrl: APISERVER_URL,
    apiserverIps: [NODE_IP, APISERVER_SERVICE_IP, '127.0.0.1'],
  });

  progress('starting containerd (CRI on, its own root, state and socket)');
  await startContainerd();
  await importImage(CONTAINERD_SOCKET, PAUSE_IMAGE, binaries.path('pause'), join(STATE_DIR, 'images'));

  progress('starting etcd and the control plane');
  await startControlPlane(binaries, pki);
  progress('starting the kubelet, kube-proxy and CoreDNS');
  await startNode(binaries, pki);
  await waitFor(
    'the node to be Ready',
    async () =>
      (await kubectl('get', 'node', NODE_NAME, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')).join(
        '',
      ) === 'True',
    180_000,
    1000,
  );
  progress(`node ${NODE_NAME} is Ready`);

  await createVolumes();
  progress("installing Istio's CRDs (no istiod: sidecar injection stays off)");
  await kubectl('apply', '--server-side', '-f', binaries.istioCrds);

  const manifests = (await kubectl('kustomize', join(REPO_ROOT, 'k8s'))).join('\n');
  const images = [...new Set([...manifests.matchAll(/^\s+image: "?([^\s"]+)"?$/gm)].map((match) => match[1]))];
  progress(`loading ${images.length} images from Docker: ${images.join(', ')}`);
  await loadDockerImages(CONTAINERD_SOCKET, images, progress);

  progress('kubectl apply -k k8s/ (namespace eshop under PodSecurity restricted)');
  // The namespace first, with its PodSecurity level, so that every pod below is admitted under `restricted`.
  await kubectl('apply', '-f', join(REPO_ROOT, 'k8s', 'namespace.yaml'));
  await kubectl('label', '--overwrite', 'namespace', 'eshop', 'pod-security.kubernetes.io/enforce=restricted');
  await kubectl('apply', '-k', join(REPO_ROOT, 'k8s'));
  for (const kind of ['statefulset', 'deployment']) {
    for (const name of await kubectl('get', kind, '-n', 'eshop', '-o', 'name')) {
      progress(`  waiting for ${name}`);
      await kubectl('rollout', 'status', '-n', 'eshop', name, '--timeout=15m');
    }
  }
  progress(`ready: \`pnpm kube kubectl get pods -n eshop\`, or KUBECONFIG=${ADMIN_KUBECONFIG} with any kubectl`);
}

export async function down(progress: Progress): Promise<void> {
  // The daemons newest first (the kubelet before containerd, so that nothing restarts a container); then the
  // runc shims containerd leaves behind; then every container's processes, found by the kubelet's cgroups.
  for (const daemon of [...DAEMONS].reverse()) await stopDaemon(daemon, progress);
  await killShims();
  await killPodCgroups();
  await unmountBelow([STATE_DIR, '/var/lib/kubelet', '/run/containerd/io.containerd', '/run/netns/' + NETNS]);
  if (existsSync(NETNS_PATH)) await run('ip', ['netns', 'delete', NETNS]);
  await run('ip', ['link', 'delete', HOST_VETH]).catch(() => undefined);
  const created = existsSync(CREATED_OUTSIDE) ? (JSON.parse(await readFile(CREATED_OUTSIDE, 'utf8')) as string[]) : [];
  for (const path of created) await rm(path, { recursive: true, force: true });
  await rm(STATE_DIR, { recursive: true, force: true });
  await rm(CREATED_OUTSIDE, { force: true });
  progress(`removed: the network namespace, ${STATE_DIR}${created.length ? `, ${created.join(', ')}` : ''}`);
}

/** kubectl as the administrator; resolves to its output's lines. */
export const kubectl = (...args: string[]) =>
  run(kubernetesBinary('kubectl'), ['--kubeconfig', ADMIN_KUBECONFIG, ...args]);

/** Whether `pnpm kube up` has run (and `down` not since). */
export const isUp = () => existsSync(STATE_DIR);

async function createNetwork() {
  await run('ip', ['netns', 'add', NETNS]);
  await run('ip', ['link', 'add', HOST_VETH, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NETNS]);
  await run('ip', ['addr', 'add', `${HOST_IP}/30`, 'dev', HOST_VETH]);
  await run('ip', ['link', 'set', HOST_VETH, 'up']);
  // From the host, Services and pods are reached through the node, as from any machine on a node's network.
  for (const cidr of [SERVICE_CIDR, POD_CIDR]) await run('ip', ['route', 'add', cidr, 'via', NODE_IP]);
  const inside = (...args: string[]) => run('ip', ['netns', 'exec', NETNS, ...args]);
  await inside('ip', 'link', 'set', 'lo', 'up');
  await inside('ip', 'addr', 'add', `${NODE_IP}/30`, 'dev', 'eth0');
  await inside('ip', 'link', 'set', 'eth0', 'up');
  await inside('ip', 'route', 'add', 'default', 'via', HOST_IP);
  // A node routes between its pods, and sends bridged traffic through iptables so that kube-proxy's rules see
  // a pod calling a Service whose endpoint is on the same bridge.
  await inside('sysctl', '-w', 'net.ipv4.ip_forward=1', 'net.bridge.bridge-nf-call-iptables=1');
}

/** Starts a daemon in the cluster's network namespace (not its mount namespace: the kubelet's mounts must be seen by containerd), logging to state/logs. */
async function startDaemon(name: Daemon, command: string, args: string[]): Promise<void> {
  const log = openSync(join(LOG_DIR, `${name}.log`), 'a');
  const child = spawn('nsenter', [`--net=${NETNS_PATH}`, '--', command, ...args], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  if (child.pid === undefined) throw new Error(`${name} did not start`);
  child.unref();
  await writeFile(join(PID_DIR, `${name}.pid`), String(child.pid));
}

async function startContainerd() {
  const dir = join(STATE_DIR, 'containerd');
  const cni = join(STATE_DIR, 'cni');
  await mkdir(join(cni, 'net.d'), { recursive: true });
  await writeFile(
    join(cni, 'net.d', '10-eshop.conflist'),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'eshop',
      plugins: [
        {
          type: 'bridge',
          bridge: 'cni0',
          isGateway: true,
          ipMasq: true,
          // A pod reaching itself through a Service goes out and back in the same bridge port.
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            dataDir: join(cni, 'ipam'),
            ranges: [[{ subnet: NODE_POD_CIDR }]],
            routes: [{ dst: '0.0.0.0/0' }],
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    }),
  );
  const config = join(dir, 'config.toml');
  await mkdir(dir, { recursive: true });
  await writeFile(
    config,
    `version = 2
root = "${join(dir, 'root')}"
state = "${join(dir, 'state')}"
[grpc]
  address = "${CONTAINERD_SOCKET}"
[plugins."io.containerd.internal.v1.opt"]
  path = "${join(dir, 'opt')}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  # Without CAP_SYS_RESOURCE (as in a container or a VM sandbox) runc cannot lower a container's oom_score_adj
  # below its own, and every sandbox fails with "can't get final child's PID from pipe: EOF".
  restrict_oom_score_adj = true
  # The pods' network namespaces under the state folder, not in /run/netns beside everyone else's.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${join(cni, 'net.d')}"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      Root = "${join(dir, 'runc')}"
`,
  );
  await startDaemon('containerd', 'containerd', ['--config', config]);
  await waitFor('containerd', () => Promise.resolve(existsSync(CONTAINERD_SOCKET)), 60_000);
}

async function startControlPlane(binaries: Binaries, pki: Pki) {
  await startDaemon('etcd', binaries.path('etcd'), [
    '--data-dir',
    join(STATE_DIR, 'etcd'),
    // Only the apiserver, on the same node, talks to it.
    '--listen-client-urls=http://127.0.0.1:2379',
    '--advertise-client-urls=http://127.0.0.1:2379',
    '--listen-peer-urls=http://127.0.0.1:2380',
    '--initial-advertise-peer-urls=http://127.0.0.1:2380',
    '--initial-cluster=default=http://127.0.0.1:2380',
  ]);
  await startDaemon('kube-apiserver', binaries.path('kube-apiserver'), [
    '--etcd-servers=http://127.0.0.1:2379',
    `--advertise-address=${NODE_IP}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    `--tls-cert-file=${pki.cert('apiserver')}`,
    `--tls-private-key-file=${pki.key('apiserver')}`,
    `--client-ca-file=${pki.ca}`,
    `--kubelet-client-certificate=${pki.cert('apiserver-kubelet-client')}`,
    `--kubelet-client-key=${pki.key('apiserver-kubelet-client')}`,
    // The node's name resolves nowhere: logs, exec and port-forward go to its address.
    '--kubelet-preferred-address-types=InternalIP',
    `--service-account-key-file=${pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    '--authorization-mode=Node,RBAC',
    // PodSecurity is on by default; NodeRestriction keeps the kubelet to its own node's objects.
    '--enable-admission-plugins=NodeRestriction',
    `--cert-dir=${join(STATE_DIR, 'apiserver')}`,
  ]);
  await waitFor(
    'the apiserver',
    async () => (await kubectl('get', '--raw', '/readyz')).join('') === 'ok',
    120_000,
    1000,
  );
  await startDaemon('kube-controller-manager', binaries.path('kube-controller-manager'), [
    `--kubeconfig=${pki.kubeconfig('controller-manager')}`,
    `--authentication-kubeconfig=${pki.kubeconfig('controller-manager')}`,
    `--authorization-kubeconfig=${pki.kubeconfig('controller-manager')}`,
    `--cluster-signing-cert-file=${pki.ca}`,
    `--cluster-signing-key-file=${pki.caKey}`,
    `--root-ca-file=${pki.ca}`,
    `--service-account-private-key-file=${pki.serviceAccountKey}`,
    '--use-service-account-credentials',
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    `--cluster-cidr=${POD_CIDR}`,
    '--allocate-node-cidrs',
    '--node-cidr-mask-size=24',
    '--leader-elect=false',
    // Its default is /usr/libexec/kubernetes/kubelet-plugins/volume/exec, outside anything of ours.
    `--flex-volume-plugin-dir=${FLEX_VOLUME_DIR}`,
  ]);
  await startDaemon('kube-scheduler', binaries.path('kube-scheduler'), [
    `--kubeconfig=${pki.kubeconfig('scheduler')}`,
    `--authentication-kubeconfig=${pki.kubeconfig('scheduler')}`,
    `--authorization-kubeconfig=${pki.kubeconfig('scheduler')}`,
    '--leader-elect=false',
  ]);
}

async function startNode(binaries: Binaries, pki: Pki) {
  const kubeletDir = join(STATE_DIR, 'kubelet');
  await mkdir(kubeletDir, { recursive: true });
  // The pods' resolv.conf is CoreDNS's; this one is only for pods on the host's DNS (dnsPolicy: Default).
  await writeFile(join(kubeletDir, 'resolv.conf'), `nameserver ${DNS_SERVICE_IP}\n`);
  await writeFile(
    join(kubeletDir, 'config.yaml'),
    JSON.stringify({
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: pki.ca } },
      authorization: { mode: 'Webhook' },
      containerRuntimeEndpoint: `unix://${CONTAINERD_SOCKET}`,
      // containerd 1.6 from Debian drives cgroups directly (no systemd in these machines).
      cgroupDriver: 'cgroupfs',
      // This kernel still mounts cgroup v1, which the kubelet calls maintenance mode and refuses by default.
      failCgroupV1: false,
      failSwapOn: false,
      clusterDNS: [DNS_SERVICE_IP],
      clusterDomain: 'cluster.local',
      resolvConf: join(kubeletDir, 'resolv.conf'),
      podLogsDir: join(STATE_DIR, 'pod-logs'),
      // Its default is /usr/libexec/kubernetes/kubelet-plugins/volume/exec, as the controller manager's.
      volumePluginDir: FLEX_VOLUME_DIR,
      // Images come from Docker, not a registry: a full-ish disk must not make the kubelet delete them.
      imageGCHighThresholdPercent: 100,
      evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%' },
    }),
  );
  await startDaemon('kubelet', binaries.path('kubelet'), [
    `--config=${join(kubeletDir, 'config.yaml')}`,
    `--kubeconfig=${pki.kubeconfig('kubelet')}`,
    `--root-dir=${kubeletDir}`,
    `--cert-dir=${join(kubeletDir, 'pki')}`,
    `--hostname-override=${NODE_NAME}`,
    `--node-ip=${NODE_IP}`,
  ]);
  const proxyConfig = join(STATE_DIR, 'kube-proxy.yaml');
  await writeFile(
    proxyConfig,
    JSON.stringify({
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      mode: 'iptables',
      clientConnection: { kubeconfig: pki.kubeconfig('kube-proxy') },
      hostnameOverride: NODE_NAME,
      clusterCIDR: POD_CIDR,
      // NodePorts on the node's address only, not on its loopback.
      nodePortAddresses: ['primary'],
      // Leave the kernel's conntrack table size alone: a network namespace cannot set it.
      conntrack: { maxPerCore: 0 },
    }),
  );
  await startDaemon('kube-proxy', binaries.path('kube-proxy'), [`--config=${proxyConfig}`]);

  // CoreDNS runs on the node, and the kube-dns Service points at it by a selector-less EndpointSlice.
  const corefile = join(STATE_DIR, 'Corefile');
  await writeFile(
    corefile,
    `.:53 {
    bind ${NODE_IP}
    errors
    health ${NODE_IP}:8181
    ready ${NODE_IP}:8182
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig ${pki.kubeconfig('coredns')} eshop-kube
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 30
}
`,
  );
  // The node's address is the one fact cluster.yaml (kube-dns's endpoint) takes from here.
  const addons = (await readFile(join(REPO_ROOT, 'scripts', 'kube', 'cluster.yaml'), 'utf8')).replaceAll(
    '$NODE_IP',
    NODE_IP,
  );
  await writeFile(join(STATE_DIR, 'cluster.yaml'), addons);
  await kubectl('apply', '-f', join(STATE_DIR, 'cluster.yaml'));
  await startDaemon('coredns', binaries.path('coredns'), ['-conf', corefile]);
}

/**
 * The PersistentVolumes of cluster.yaml's `node-disk` StorageClass: folders on the node, open to any user
 * because a hostPath volume is not chowned to the pod's fsGroup.
 */
async function createVolumes() {
  const items = [];
  for (let i = 0; i < VOLUMES; i++) {
    const path = join(STATE_DIR, 'volumes', `pv-${i}`);
    await mkdir(path, { recursive: true });
    await chmod(path, 0o777);
    items.push({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: `node-disk-${i}` },
      spec: {
        storageClassName: 'node-disk',
        capacity: { storage: '5Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        hostPath: { path, type: 'Directory' },
      },
    });
  }
  const file = join(STATE_DIR, 'volumes.json');
  await writeFile(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  await kubectl('apply', '-f', file);
}

/** The runc shims of this cluster's containerd: they outlive it by design, and name its socket. */
async function killShims() {
  for (const pid of await readdir('/proc')) {
    const command = await readFile(join('/proc', pid, 'cmdline'), 'utf8').catch(() => '');
    if (command.startsWith('/usr/bin/containerd-shim') && command.includes(CONTAINERD_SOCKET)) {
      killQuietly(Number(pid));
    }
  }
}

/** SIGKILL, for a process that may have exited meanwhile. */
function killQuietly(pid: number) {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}

async function stopDaemon(daemon: Daemon, progress: Progress) {
  const pidFile = join(PID_DIR, `${daemon}.pid`);
  if (!existsSync(pidFile)) return;
  const pid = Number(await readFile(pidFile, 'utf8'));
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  progress(`stopping ${daemon}`);
  process.kill(pid, 'SIGTERM');
  await waitFor(`${daemon} to stop`, () => Promise.resolve(!alive()), 20_000).catch(() => process.kill(pid, 'SIGKILL'));
}

/** Every process in the pods' cgroups is killed, then the cgroups are removed, deepest first. */
async function killPodCgroups() {
  const root = '/sys/fs/cgroup';
  // cgroup v2 has one hierarchy; v1 one per controller, each with its own kubepods tree.
  const hierarchies = existsSync(join(root, 'kubepods')) ? [root] : (await readdir(root)).map((c) => join(root, c));
  const cgroups: string[] = [];
  for (const hierarchy of hierarchies) {
    if (existsSync(join(hierarchy, 'kubepods'))) cgroups.push(...(await descendants(join(hierarchy, 'kubepods'))));
  }
  for (const cgroup of cgroups) {
    for (const pid of (await readFile(join(cgroup, 'cgroup.procs'), 'utf8').catch(() => '')).split('\n')) {
      if (pid) killQuietly(Number(pid));
    }
  }
  const left = cgroups.reverse();
  await waitFor(
    "the pods' cgroups to empty",
    async () => {
      // ENOENT: the same folder seen through a second name (cpu and cpuacct can be one hierarchy).
      const removed = (error: NodeJS.ErrnoException) => error.code === 'ENOENT';
      while (left.length > 0 && (await rmdir(left[0]).then(() => true, removed))) left.shift();
      return left.length === 0;
    },
    30_000,
  );
}

async function descendants(dir: string): Promise<string[]> {
  const children = (await readdir(dir, { withFileTypes: true })).filter((entry) => entry.isDirectory());
  const nested = await Promise.all(children.map((child) => descendants(join(dir, child.name))));
  return [dir, ...nested.flat()];
}

async function unmountBelow(prefixes: string[]) {
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point) => point !== undefined && prefixes.some((prefix) => point.startsWith(prefix)));
  // Deepest first.
  for (const point of mounts.sort((a, b) => b.length - a.length)) {
    await run('umount', ['--lazy', point]).catch(() => undefined);
  }
}

const ADVICE: Record<string, string> = {
  containerd: 'install `containerd` (Debian: apt-get install containerd, or docker.io which brings it)',
  runc: 'install `runc`',
  ctr: 'install `containerd`',
  docker: 'the images come from Docker: install Docker and build them with `pnpm images`',
  nsenter: 'install util-linux',
  ip: 'install iproute2',
};
