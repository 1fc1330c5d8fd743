import { httpUrl, list, milliseconds, parseEnv, port } from '@eshop/config';
import { FAULT_INJECTION_HEADER_ENV, FAULTS, faultEnv, faultInjectionHeaderEnv } from '@eshop/faults';
import { z } from 'zod';

export const envSchema = z.object({
  PORT: port(8085),
  KAFKA_BROKERS: list('127.0.0.1:9092'),
  KAFKA_GROUP_ID: z.string().min(1).default('kafka-consumer'),
  /**
   * How long the broker waits for a silent consumer before giving its partitions to another. A consumer that
   * crashed holds its partitions this long, so a replacement starts consuming only after it.
   */
  KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6000).max(300_000).default(30_000),
  /**
   * `parent`: the consumer span is a child of the producer span, and the e-mail joins the checkout's trace.
   * `link`: each poll starts a new trace, whose consumer spans link to their producer spans.
   */
  KAFKA_TRACE_MODE: z.enum(['parent', 'link']).default('parent'),
  NOTIFICATION_URL: httpUrl('http://localhost:8084'),
  /**
   * How many failed answers (5xx, 429, or an unforeseen error) an e-mail may get from notification before its
   * event goes to `orders.DLQ`. A 4xx is not repeated. No answer from notification itself (none at all, or only a
   * proxy's 502/503/504 while notification is down or restarting) is retried without limit: the event is not at
   * fault, and the e-mail is sent once notification is back.
   */
  NOTIFICATION_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
  /** The wait after the first failed attempt; it doubles after each further one, up to the maximum. */
  NOTIFICATION_RETRY_BASE_MS: milliseconds(200),
  NOTIFICATION_RETRY_MAX_MS: milliseconds(5000),
  /**
   * Fault: a pause before each message is processed, so the topic backs up and the consumer spans'
   * `eshop.kafka.queue_time_ms` climbs (0 = off).
   */
  [FAULTS['consumer-slow'].env]: faultEnv('consumer-slow'),
  [FAULT_INJECTION_HEADER_ENV]: faultInjectionHeaderEnv(),
});

export type Config = z.infer<typeof envSchema>;

export const loadConfig = () => parseEnv(envSchema);
