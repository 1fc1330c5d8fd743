import { BROWSER_ADDRESS, DATA_FILE, SHARED_ENV_NAMES, envNames, type EnvSchema } from '@eshop/config';
import { envSchema as billing } from '@eshop/billing/config';
import { envSchema as delivery } from '@eshop/delivery/config';
import { envSchema as eshop } from '@eshop/eshop/config';
import { envSchema as inventory } from '@eshop/inventory/config';
import { envSchema as kafkaConsumer } from '@eshop/kafka-consumer/config';
import { envSchema as notification } from '@eshop/notification/config';

/** Each service's own env schema, read from the service itself so that a deployment cannot drift from it. */
export const SERVICE_SCHEMAS: Record<string, EnvSchema> = {
  eshop,
  inventory,
  billing,
  delivery,
  notification,
  'kafka-consumer': kafkaConsumer,
};

export const SERVICES = Object.keys(SERVICE_SCHEMAS);

/** The trace exporter's default is the native Jaeger on localhost: a container must always be told. */
const ALWAYS_REQUIRED = ['OTEL_EXPORTER_OTLP_ENDPOINT'];

/** Every variable the service reads: its schema's plus the shared OTEL_* and LOG_LEVEL. */
export function allowedEnv(service: string): Set<string> {
  return new Set([...envNames(schemaOf(service)), ...SHARED_ENV_NAMES]);
}

/**
 * The variables a deployment must set: those whose default points at this machine (an address that only
 * works natively, or a data file that would live and die with the container), and the OTLP endpoint. Derived
 * from the schemas, so a new address or data file is required as soon as a service reads it, and a new setting
 * with a harmless default (a fault switch) is not.
 */
export function requiredEnv(service: string): Set<string> {
  const schema = schemaOf(service);
  const local = envNames(schema).filter((name) => {
    const parsed = schema.shape[name].safeParse(undefined);
    return parsed.success && /\b(localhost|127\.0\.0\.1)\b/.test(JSON.stringify(parsed.data));
  });
  return new Set([...local, ...dataFileEnv(service), ...ALWAYS_REQUIRED]);
}

/** The variables that name a file the service keeps its state in: each must be on a volume. */
export function dataFileEnv(service: string): string[] {
  const schema = schemaOf(service);
  return envNames(schema).filter((name) => schema.shape[name].description === DATA_FILE);
}

/**
 * What is wrong with the environment a deployment gives a service: a variable the service does not read, a
 * required one missing, a value the schema rejects, or a setting other than an address moved off its default
 * (which is how a fault setting would be turned on). An address for people's browsers (a web UI's) may be set:
 * only a deployment knows it.
 */
export function envProblems(service: string, env: Record<string, string>): string[] {
  const schema = schemaOf(service);
  const allowed = allowedEnv(service);
  const required = requiredEnv(service);
  const problems: string[] = [];
  for (const name of Object.keys(env)) {
    if (!allowed.has(name)) problems.push(`sets ${name}, which ${service} does not read`);
  }
  for (const name of required) {
    if (!(name in env)) problems.push(`does not set ${name}, which ${service} needs outside this machine`);
  }
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    problems.push(...parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  } else {
    const defaults = schema.parse({}) as Record<string, unknown>;
    const values = parsed.data as Record<string, unknown>;
    for (const name of envNames(schema)) {
      const setting = !required.has(name) && schema.shape[name].description !== BROWSER_ADDRESS;
      if (name in env && setting && JSON.stringify(values[name]) !== JSON.stringify(defaults[name])) {
        problems.push(`sets ${name}=${env[name]}, away from its default ${JSON.stringify(defaults[name])}`);
      }
    }
  }
  return problems;
}

/** host:port of every address a service is given: its URLs, its Kafka brokers and its OTLP endpoint. */
export function addressesIn(
  service: string,
  env: Record<string, string>,
): { name: string; host: string; port: number }[] {
  const addresses: { name: string; host: string; port: number }[] = [];
  const files = new Set(dataFileEnv(service));
  for (const name of requiredEnv(service)) {
    const value = env[name];
    if (value === undefined || files.has(name)) continue;
    for (const item of value
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean)) {
      const url = new URL(/^[a-z]+:\/\//.test(item) ? item : `tcp://${item}`);
      addresses.push({ name, host: url.hostname, port: Number(url.port) });
    }
  }
  return addresses;
}

/** The service an `<NAME>_URL` variable must lead to (INVENTORY_URL → inventory), or undefined for others. */
function expectedHost(variable: string): string | undefined {
  const match = /^(.+)_URL$/.exec(variable);
  return match ? match[1].toLowerCase().replace(/_/g, '-') : undefined;
}

/** Jaeger's roles: each a Service of its own in Kubernetes (jaeger-query), one container for all in compose. */
const JAEGER_ROLE = /^(jaeger)-(query|collector)$/;

/**
 * Whether `host` is the service that the variable names: INVENTORY_URL → inventory; JAEGER_QUERY_URL →
 * jaeger-query, or jaeger, the container that plays every role of Jaeger's. Any host for a variable that is not
 * an `<NAME>_URL`.
 */
export function namesHost(variable: string, host: string): boolean {
  const expected = expectedHost(variable);
  return expected === undefined || host === expected || host === JAEGER_ROLE.exec(expected)?.[1];
}

function schemaOf(service: string): EnvSchema {
  const schema = SERVICE_SCHEMAS[service];
  if (!schema) throw new Error(`unknown service ${service}`);
  return schema;
}
