import { posix } from 'node:path';

// Checks that compose and k8s share: what each deployment of Kafka and Jaeger must get right.

/** Jaeger's memory storage keeps this many traces unless told otherwise. */
export const JAEGER_DEFAULT_MAX_TRACES = 100_000;
/** What one of this demo's traces may take in Jaeger's memory: some 20 spans, more with Istio's sidecars. */
export const JAEGER_BYTES_PER_TRACE = 64 * 1024;

/** The number of traces Jaeger's memory storage keeps, from its command line (`--set=...memory.max_traces=N`). */
export function jaegerMaxTraces(args: string[]): number {
  const set = args
    .map((arg) => /^--set=extensions\.jaeger_storage\.backends\.[^.]+\.memory\.max_traces=(\d+)$/.exec(arg))
    .find((match) => match !== null);
  return set ? Number(set[1]) : JAEGER_DEFAULT_MAX_TRACES;
}

/** A memory quantity in bytes: a number of bytes, or Kubernetes' `512Mi` / `1Gi` / `500M`. */
export function bytes(quantity: string | number): number {
  if (typeof quantity === 'number') return quantity;
  const match = /^(\d+)(Ki|Mi|Gi|K|M|G)?$/.exec(quantity);
  if (!match) throw new Error(`not a memory quantity: ${quantity}`);
  const units: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, K: 1e3, M: 1e6, G: 1e9 };
  return Number(match[1]) * (match[2] ? units[match[2]] : 1);
}

/** Whether `dir` is a folder strictly inside `mount`: not its root, where a disk's `lost+found` lives. */
export function isBelow(dir: string, mount: string): boolean {
  const relative = posix.relative(mount, dir);
  return relative !== '' && !relative.startsWith('..') && !posix.isAbsolute(relative);
}

/** The host a listener of `KAFKA_LISTENERS` binds: `localhost` for `CONTROLLER://localhost:9093`, `''` for all. */
export function listenerHost(listeners: string, name: string): string | undefined {
  for (const listener of listeners.split(',')) {
    const match = /^([A-Z_]+):\/\/(.*):(\d+)$/.exec(listener.trim());
    if (match?.[1] === name) return match[2];
  }
  return undefined;
}
