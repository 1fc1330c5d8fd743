import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { z } from 'zod';

/** An environment shape: every variable a service reads, with its default. */
export type EnvSchema = z.ZodObject<Record<string, z.ZodType>>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Reads `env` through `schema`. Every variable has a default that works for the native stack, so a bad value
 * is the only way to fail, and then every bad value is named in one error.
 */
export function parseEnv<S extends EnvSchema>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  throw new ConfigError(`invalid environment: ${problems.join('; ')}`);
}

/** The names of the variables a schema reads, so deployments can be checked against it. */
export function envNames(schema: EnvSchema): string[] {
  return Object.keys(schema.shape);
}

export const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);

export const httpUrl = (fallback: string) =>
  z
    .url({ protocol: /^https?$/ })
    .default(fallback)
    .transform((url) => url.replace(/\/+$/, ''));

/** Marks a variable that holds an address for a person's browser, not one the service calls. */
export const BROWSER_ADDRESS = 'browser address';

/**
 * An address the service only shows to people, such as a web UI's: unset unless the deployment has one, and
 * never called by the service itself.
 */
export const browserUrl = () =>
  z
    .url({ protocol: /^https?$/ })
    .transform((url) => url.replace(/\/+$/, ''))
    .optional()
    .describe(BROWSER_ADDRESS);

/** A comma-separated list such as `KAFKA_BROKERS=broker-1:9092,broker-2:9092`. */
export const list = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value) =>
      value
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string()).min(1));

export const milliseconds = (fallback: number) => z.coerce.number().int().min(0).default(fallback);

/** Marks a variable that names a file the service keeps its state in. */
export const DATA_FILE = 'data file';

/**
 * The path of a file the service keeps its state in. Its default suits a service run by hand; a deployment must
 * set it, to a path on a volume that outlives the container.
 */
export const dataFile = (fallback: string) => z.string().min(1).default(fallback).describe(DATA_FILE);

/**
 * Opens a data file as a SQLite database (its folder made if need be; `:memory:` for tests) and creates its
 * tables with `schema`. WAL lets readers read while a write goes on; `synchronous = FULL` puts each commit on disk
 * before it returns, so what a service answered after a write survives a crash.
 */
export function openDataFile(path: string, schema: string): DatabaseSync {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; ${schema}`);
  return db;
}

/**
 * The variables every service reads beside its own schema: the standard OpenTelemetry ones read by the tracing
 * bootstrap and the SDK, the logger's level, and the interface the server listens on. Deployments are checked against this list and the schemas.
 */
export const SHARED_ENV_NAMES = [
  'OTEL_SERVICE_NAME',
  'OTEL_RESOURCE_ATTRIBUTES',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_PROTOCOL',
  'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
  'OTEL_EXPORTER_OTLP_TIMEOUT',
  'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT',
  'OTEL_PROPAGATORS',
  'OTEL_BSP_SCHEDULE_DELAY',
  'OTEL_BSP_MAX_QUEUE_SIZE',
  'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG',
  'OTEL_LOG_LEVEL',
  'LOG_LEVEL',
  'LISTEN_HOST',
  // How long a stopping service lets its requests in flight finish (runService in @eshop/http).
  'SHUTDOWN_DRAIN_MS',
] as const;
