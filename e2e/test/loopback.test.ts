import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Stack, type TracePipeline } from '@eshop/scripts';
import { CACHE_DIR } from '@eshop/scripts/paths';

// Natively, nothing the stack runs may be reachable from the network: the services (eshop's checkout, notification's
// `/emails`, billing's `/refund`), Kafka, and Jaeger's query API, which holds every trace. The test reads where each
// of the stack's processes listens from /proc, as `ss -ltnp` does, and sends nothing anywhere.

/** A socket in the LISTEN state (TCP) or bound and unconnected (UDP), by inode. */
interface Listener {
  protocol: string;
  address: string;
  port: number;
}

describe('the native stack, told nothing about where to listen', () => {
  for (const pipeline of ['direct', 'kafka'] as TracePipeline[]) {
    it(`listens on loopback only, with TRACE_PIPELINE=${pipeline}`, async () => {
      const stack = await Stack.start({
        output: 'files',
        runDir: join(CACHE_DIR, `e2e-loopback-${pipeline}`),
        tracePipeline: pipeline,
      });
      try {
        const listeners = stack.pids.flatMap((pid) => listenersOf(pid).map((listener) => ({ pid, ...listener })));
        // The stack's own ports at least: the six services, Kafka's broker and controller, and the query API.
        const ports = new Set(listeners.map((listener) => listener.port));
        for (const port of [8080, 8081, 8082, 8083, 8084, 8085, 9092, 9093, 4317, 16686]) {
          assert.ok(ports.has(port), `nothing of the stack's listens on ${port}`);
        }
        // A UDP socket on a port of the kernel's ephemeral range is a client's (Zipkin's DNS resolver has one): it
        // was given that port by connecting or sending, never asked for one to be reached on.
        const [ephemeralFrom] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
        const servers = listeners.filter(
          (listener) => listener.protocol.startsWith('tcp') || listener.port < Number(ephemeralFrom),
        );
        const open = servers.filter((listener) => !isLoopback(listener.address));
        assert.deepEqual(open, [], 'listeners beyond loopback');
      } finally {
        await stack.stop();
      }
    });
  }
});

/** The listening sockets a process holds, read from its own network namespace's tables. */
function listenersOf(pid: number): Listener[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    const target = readlinkOrUndefined(`/proc/${pid}/fd/${fd}`);
    const inode = /^socket:\[(\d+)\]$/.exec(target ?? '')?.[1];
    if (inode) inodes.add(inode);
  }
  // st: 0A is TCP's LISTEN; 07 is an unconnected UDP socket, which takes datagrams from anyone.
  const tables = [
    { protocol: 'tcp', state: '0A' },
    { protocol: 'tcp6', state: '0A' },
    { protocol: 'udp', state: '07' },
    { protocol: 'udp6', state: '07' },
  ];
  return tables.flatMap(({ protocol, state }) =>
    readFileSync(`/proc/${pid}/net/${protocol}`, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields[3] === state && inodes.has(fields[9]))
      .map((fields) => {
        const [address, port] = fields[1].split(':');
        return { protocol, address: decodeAddress(address), port: parseInt(port, 16) };
      }),
  );
}

/** A process may close a descriptor while its folder is read. */
function readlinkOrUndefined(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** /proc/net's hex form: 32-bit words in the kernel's byte order (little-endian here), one for IPv4, four for IPv6. */
function decodeAddress(hex: string): string {
  const bytes = hex.match(/.{8}/g)!.flatMap((word) =>
    word
      .match(/../g)!
      .reverse()
      .map((byte) => parseInt(byte, 16)),
  );
  if (bytes.length === 4) return bytes.join('.');
  const v4Mapped = bytes.slice(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (v4Mapped) return `::ffff:${bytes.slice(12).join('.')}`;
  return Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] << 8) | bytes[2 * i + 1]).toString(16)).join(':');
}

function isLoopback(address: string): boolean {
  return /^127\./.test(address) || /^::ffff:127\./.test(address) || address === '0:0:0:0:0:0:0:1';
}
