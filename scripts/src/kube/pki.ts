// The cluster's certificates and kubeconfigs, made with openssl: one CA signs every serving and client
// certificate; the client certificates' CN and O are the user and groups that RBAC sees.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../processes';

/** A client identity of the cluster: its certificate's subject, and the kubeconfig made from it. */
export const IDENTITIES = {
  admin: { cn: 'kubernetes-admin', o: 'system:masters' },
  'controller-manager': { cn: 'system:kube-controller-manager' },
  scheduler: { cn: 'system:kube-scheduler' },
  'kube-proxy': { cn: 'system:kube-proxy' },
  coredns: { cn: 'system:coredns' },
  // The apiserver's identity when it calls a kubelet (logs, exec, port-forward).
  'apiserver-kubelet-client': { cn: 'kube-apiserver-kubelet-client', o: 'system:masters' },
} as const;

export type Identity = keyof typeof IDENTITIES | 'kubelet';

export interface Pki {
  readonly dir: string;
  readonly ca: string;
  readonly caKey: string;
  readonly cert: (name: Identity | 'apiserver') => string;
  readonly key: (name: Identity | 'apiserver') => string;
  readonly kubeconfig: (name: Identity) => string;
  readonly serviceAccountKey: string;
  readonly serviceAccountPub: string;
}

export async function createPki(
  dir: string,
  options: { nodeName: string; apiserverUrl: string; apiserverIps: string[] },
): Promise<Pki> {
  const pki: Pki = {
    dir,
    ca: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    cert: (name) => join(dir, `${name}.crt`),
    key: (name) => join(dir, `${name}.key`),
    kubeconfig: (name) => join(dir, `${name}.kubeconfig`),
    serviceAccountKey: join(dir, 'sa.key'),
    serviceAccountPub: join(dir, 'sa.pub'),
  };
  await mkdir(dir, { recursive: true });
  await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '365', '-subj', '/CN=eshop-kube-ca');
  await openssl('genpkey', '-algorithm', 'RSA', '-out', pki.serviceAccountKey);
  await openssl('pkey', '-in', pki.serviceAccountKey, '-pubout', '-out', pki.serviceAccountPub);

  const dnsNames = [
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    'kubernetes.default.svc.cluster.local',
  ];
  const sans = [...dnsNames.map((n) => `DNS:${n}`), 'DNS:localhost', ...options.apiserverIps.map((ip) => `IP:${ip}`)];
  await sign('apiserver', '/CN=kube-apiserver', `subjectAltName=${sans.join(',')}`);
  const clients: [Identity, { cn: string; o?: string }][] = [
    ...(Object.entries(IDENTITIES) as [Identity, { cn: string; o?: string }][]),
    // The Node authorizer and NodeRestriction admit a kubelet by this name and group.
    ['kubelet', { cn: `system:node:${options.nodeName}`, o: 'system:nodes' }],
  ];
  for (const [name, { cn, o }] of clients) {
    await sign(name, `/CN=${cn}${o ? `/O=${o}` : ''}`);
    await writeFile(pki.kubeconfig(name), kubeconfig(pki, name, options.apiserverUrl));
  }
  return pki;

  async function openssl(...args: string[]) {
    // The CA first; the rest name their own files.
    const out = args[0] === 'req' ? ['-keyout', pki.caKey, '-out', pki.ca] : [];
    await run('openssl', [...args, ...out]);
  }

  async function sign(name: Identity | 'apiserver', subject: string, extension?: string) {
    const csr = join(dir, `${name}.csr`);
    await run('openssl', [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      subject,
      '-keyout',
      pki.key(name),
      '-out',
      csr,
    ]);
    const extensions = join(dir, `${name}.ext`);
    await writeFile(extensions, `${extension ?? 'extendedKeyUsage=clientAuth'}\n`);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      pki.ca,
      '-CAkey',
      pki.caKey,
      '-CAcreateserial',
      '-days',
      '365',
      '-extfile',
      extensions,
      '-out',
      pki.cert(name),
    ]);
  }
}

function kubeconfig(pki: Pki, name: Identity, server: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `  - name: eshop-kube`,
    '    cluster:',
    `      server: ${server}`,
    `      certificate-authority: ${pki.ca}`,
    'users:',
    `  - name: ${name}`,
    '    user:',
    `      client-certificate: ${pki.cert(name)}`,
    `      client-key: ${pki.key(name)}`,
    'contexts:',
    '  - name: eshop-kube',
    '    context: { cluster: eshop-kube, user: ' + name + ' }',
    'current-context: eshop-kube',
    '',
  ].join('\n');
}
