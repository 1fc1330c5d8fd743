import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** The repository's root folder (this file compiles to scripts/dist/src). */
export const REPO_ROOT = resolve(__dirname, '..', '..', '..');

/** Where provisioned Kafka jars and the Jaeger binary are kept between runs, outside the repository. */
export const CACHE_DIR =
  process.env.ESHOP_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'eshop');

/** Jaeger's query API: the one `pnpm start` runs, unless the variable names another. */
export const JAEGER_QUERY_URL = process.env.JAEGER_QUERY_URL ?? 'http://localhost:16686';

export const KAFKA_VERSION = '3.9.1';
/** Jaeger v2.13.0: its Go module carries v1 tags, and v1.76.0 is the commit of v2.13.0. */
export const JAEGER_MODULE = 'github.com/jaegertracing/jaeger';
export const JAEGER_MODULE_VERSION = 'v1.76.0';
export const JAEGER_VERSION = '2.13.0';
/** Zipkin's server, its Spring Boot `exec` jar from Maven Central: the trace UI of the Kafka trace pipeline. */
export const ZIPKIN_VERSION = '3.6.1';
