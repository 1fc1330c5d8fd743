import { join } from 'node:path';

/**
 * The services' registry: each service's name, port, start command, data files and environment, in one place.
 * The native stack starts the services from it; the package.json start scripts, the Dockerfile, the services'
 * default ports, compose and Kubernetes are checked against it (deploy/test/registry.test.ts).
 */

/** In start order: the callees first, so that eshop and kafka-consumer find them ready. */
export const SERVICES = ['inventory', 'billing', 'delivery', 'notification', 'eshop', 'kafka-consumer'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface ServiceEntry {
  /** Where it answers HTTP: its default PORT, the container port, and the native stack's port. */
  port: number;
  /** The files it keeps its state in, by the variable that names each: kept in the stack's run folder natively. */
  dataFiles: Record<string, string>;
}

export const REGISTRY: Record<ServiceName, ServiceEntry> = {
  eshop: { port: 8080, dataFiles: { OUTBOX_DB: 'outbox.db' } },
  inventory: { port: 8081, dataFiles: { INVENTORY_DB: 'inventory.db' } },
  billing: { port: 8082, dataFiles: { BILLING_DB: 'billing.db' } },
  delivery: { port: 8083, dataFiles: { DELIVERY_DB: 'delivery.db' } },
  notification: { port: 8084, dataFiles: { NOTIFICATION_DB: 'notification.db' } },
  'kafka-consumer': { port: 8085, dataFiles: {} },
};

/**
 * How every service starts, in its folder, natively as in its image: tracing preloaded, so that it patches http,
 * express and kafkajs before the service loads them. kafkajs 2.2.4 sets timers with negative delays, which Node 24
 * warns about at every connection; they fire at once, as kafkajs expects, so the warning is only noise.
 */
export const SERVICE_NODE_ARGS = [
  '--disable-warning=TimeoutNegativeWarning',
  '--require',
  '@eshop/tracing/register',
  'dist/src/main.js',
];

/** The `start` script of a service's package.json: the same command, named for tracing unless told otherwise. */
export function startScript(service: ServiceName): string {
  return `OTEL_SERVICE_NAME=\${OTEL_SERVICE_NAME:-${service}} node ${SERVICE_NODE_ARGS.join(' ')}`;
}

/** `kafka-consumer` for the first instance, `kafka-consumer-2` for the second, and so on. */
export function processName(service: ServiceName, instance = 1): string {
  return instance === 1 ? service : `${service}-${instance}`;
}

/** A further instance (only kafka-consumer runs more than one) takes the ports after the first's: 8086, ... */
export function portOf(service: ServiceName, instance = 1): number {
  return REGISTRY[service].port + instance - 1;
}

/**
 * The environment the native stack gives one service process, on top of what it inherits: its name for tracing,
 * which instance it is, its port, its data files under `dataDir`, and the interface it listens on.
 */
export function serviceEnv(
  service: ServiceName,
  instance: number,
  { dataDir, listenHost }: { dataDir: string; listenHost: string },
): NodeJS.ProcessEnv {
  return {
    ...Object.fromEntries(
      Object.entries(REGISTRY[service].dataFiles).map(([variable, file]) => [variable, join(dataDir, file)]),
    ),
    OTEL_SERVICE_NAME: service,
    // Which process made a span: kafka-consumer-2's spans say so, in one trace with kafka-consumer's.
    OTEL_RESOURCE_ATTRIBUTES: [
      process.env.OTEL_RESOURCE_ATTRIBUTES,
      `service.instance.id=${processName(service, instance)}`,
    ]
      .filter(Boolean)
      .join(','),
    // Set here, not left to each service's default: the stack polls and prints these very ports, and one PORT
    // in the caller's shell would otherwise give all six the same one.
    PORT: String(portOf(service, instance)),
    LISTEN_HOST: listenHost,
  };
}
