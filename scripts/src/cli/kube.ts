// `pnpm kube build`: the cluster's programs, built once into the cache (`up` builds what is missing too).
// `pnpm kube up`: a single-node Kubernetes built here, with k8s/ applied and every pod ready.
// `pnpm kube down`: stops it and removes everything it made. `pnpm kube kubectl <args>`: kubectl against it.
import { spawnSync } from 'node:child_process';
import { ensureBinaries, KUBE_DIR, KUBERNETES_VERSION, kubernetesBinary } from '../kube/build';
import { ADMIN_KUBECONFIG, down, up } from '../kube/cluster';
import { SetupError } from '../processes';

const started = Date.now();
const say = (message: string) =>
  console.log(`[kube ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}`);

async function main(command: string | undefined, args: string[]): Promise<void> {
  if (command === 'build') {
    await ensureBinaries(say);
    return say(`ready: Kubernetes ${KUBERNETES_VERSION}, etcd, CoreDNS and the pause image in ${KUBE_DIR}`);
  }
  if (command === 'up') return up(say);
  if (command === 'down') return down(say);
  if (command === 'kubectl') {
    const kubectl = kubernetesBinary('kubectl');
    process.exitCode =
      spawnSync(kubectl, ['--kubeconfig', ADMIN_KUBECONFIG, ...args], { stdio: 'inherit' }).status ?? 1;
    return;
  }
  throw new SetupError('usage: pnpm kube build | up | down | kubectl <args>');
}

main(process.argv[2], process.argv.slice(3)).catch((error: unknown) => {
  console.error(
    `[kube] ${error instanceof SetupError ? error.message : error instanceof Error ? error.stack : String(error)}`,
  );
  process.exitCode = 1;
});
