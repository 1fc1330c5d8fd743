import { browserUrl, dataFile, httpUrl, list, milliseconds, parseEnv, port } from '@eshop/config';
import { FAULT_INJECTION_HEADER_ENV, faultInjectionHeaderEnv } from '@eshop/faults';
import { z } from 'zod';

export const envSchema = z.object({
  PORT: port(8080),
  INVENTORY_URL: httpUrl('http://localhost:8081'),
  BILLING_URL: httpUrl('http://localhost:8082'),
  DELIVERY_URL: httpUrl('http://localhost:8083'),
  /** Read by the order page's API: whether the order's e-mail was sent. */
  NOTIFICATION_URL: httpUrl('http://localhost:8084'),
  KAFKA_BROKERS: list('127.0.0.1:9092'),
  /** How long one call to inventory, billing or delivery may take. */
  DOWNSTREAM_TIMEOUT_MS: milliseconds(2000).pipe(z.number().min(1)),
  /** How often a call that got no answer or a 5xx is repeated (each carries an idempotency key). */
  DOWNSTREAM_RETRIES: z.coerce.number().int().min(0).max(5).default(2),
  /**
   * How long the broker has to answer any one request while the outbox sends `OrderPlaced`. The producer tries
   * three times; when it gives up, the event stays in the outbox, which tries again later.
   */
  PUBLISH_TIMEOUT_MS: milliseconds(3000).pipe(z.number().min(1)),
  /**
   * eshop's SQLite file: the outbox (accepted orders' events until the broker has them), the checkouts under way
   * and their steps, the Idempotency-Keys' answers, and the order page's records. Keep it across restarts (a
   * volume, a PersistentVolumeClaim), or an accepted order whose event was not sent yet is never e-mailed, and a
   * checkout cut short by a crash is never undone. `pnpm start` puts it in its run folder.
   */
  OUTBOX_DB: dataFile('outbox.db'),
  /** How long a checkout's answer is kept for its Idempotency-Key; a repeat after that places a new order. */
  IDEMPOTENCY_RETENTION_MS: milliseconds(24 * 60 * 60 * 1000).pipe(z.number().min(1)),
  /**
   * The longest wait between two tries of an undo that failed (they start at 1 s and double): with the service
   * back, a failed checkout's reservation, charge or delivery is undone within this, plus one call.
   */
  UNDO_RETRY_MAX_MS: milliseconds(10_000).pipe(z.number().min(1000)),
  /** Jaeger's query API, from which the order page's API reads the order's trace. */
  JAEGER_QUERY_URL: httpUrl('http://localhost:16686'),
  /**
   * Jaeger's web UI as a browser reaches it, for the order page's links into it; unset natively, where Jaeger
   * has no web UI.
   */
  JAEGER_UI_URL: browserUrl(),
  /** Zipkin's UI as a browser reaches it, for the same links, where spans also go to Zipkin (TRACE_PIPELINE=kafka). */
  ZIPKIN_UI_URL: browserUrl(),
  /** The largest export of the storefront page's spans that `POST /v1/traces` takes, in bytes. */
  BROWSER_SPANS_MAX_BYTES: z.coerce.number().int().min(1024).default(65_536),
  /** How many exports of the page's spans one client address may send a minute. */
  BROWSER_SPANS_PER_MINUTE: z.coerce.number().int().min(1).default(120),
  /** `enabled`: a checkout may ask for faults with an `x-fault` header; off by default. */
  [FAULT_INJECTION_HEADER_ENV]: faultInjectionHeaderEnv(),
});

export const loadConfig = () => parseEnv(envSchema);
