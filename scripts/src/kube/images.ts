// Images into the cluster's containerd: the pause image made here, the others from Docker.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run, SetupError } from '../processes';
import type { Progress } from '../provision';

const ctrArgs = (socket: string) => ['--address', socket, '--namespace', 'k8s.io'];

/** A one-file image (the binary as its entrypoint), written as a `docker save` archive and imported. */
export async function importImage(socket: string, name: string, binary: string, workDir: string): Promise<void> {
  const dir = join(workDir, name.replace(/[/:]/g, '_'));
  await mkdir(join(dir, 'rootfs'), { recursive: true });
  const entrypoint = `/${binary.split('/').pop()}`;
  await copyFile(binary, join(dir, 'rootfs', entrypoint));
  await run('tar', [
    '--numeric-owner',
    '--owner=0',
    '--group=0',
    '-C',
    join(dir, 'rootfs'),
    '-cf',
    join(dir, 'layer.tar'),
    '.',
  ]);
  const diffId = createHash('sha256')
    .update(await readFile(join(dir, 'layer.tar')))
    .digest('hex');
  await writeFile(
    join(dir, 'config.json'),
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Entrypoint: [entrypoint], User: '65535:65535' },
      rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`] },
    }),
  );
  await writeFile(
    join(dir, 'manifest.json'),
    JSON.stringify([{ Config: 'config.json', RepoTags: [name], Layers: ['layer.tar'] }]),
  );
  const archive = join(workDir, `${dir.split('/').pop()}.tar`);
  await run('tar', ['-C', dir, '-cf', archive, 'config.json', 'manifest.json', 'layer.tar']);
  await run('ctr', [...ctrArgs(socket), 'images', 'import', archive]);
}

/** `docker save <image> | ctr images import -` for each image; one Docker lacks is named with how to build it. */
export async function loadDockerImages(socket: string, images: string[], progress: Progress): Promise<void> {
  const local = new Set(
    (await run('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}'])).map((image) =>
      image.replace(/^docker\.io\//, ''),
    ),
  );
  const missing = images.filter((image) => !local.has(image));
  if (missing.length > 0) {
    throw new SetupError(
      `not in Docker: ${missing.join(', ')}. Build them first: \`pnpm images\` and \`docker compose build\`.`,
    );
  }
  for (const image of images) {
    progress(`  ${image}`);
    const save = spawn('docker', ['save', image], { stdio: ['ignore', 'pipe', 'inherit'] });
    const load = spawn('ctr', [...ctrArgs(socket), 'images', 'import', '-'], { stdio: ['pipe', 'ignore', 'inherit'] });
    save.stdout.pipe(load.stdin);
    const [[saved], [loaded]] = (await Promise.all([once(save, 'close'), once(load, 'close')])) as [[number], [number]];
    if (saved !== 0 || loaded !== 0) throw new Error(`docker save ${image} | ctr images import - failed`);
  }
}
