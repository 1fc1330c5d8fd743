import { httpUrl, list, parseEnv, port } from '@eshop/config';
import { z } from 'zod';

export const envSchema = z.object({
  PORT: port(8085),
  KAFKA_BROKERS: list('127.0.0.1:9092'),
  KAFKA_GROUP_ID: z.string().min(1).default('kafka-consumer'),
  /**
   * `parent`: the consumer span is a child of the producer span, and the e-mail joins the checkout's trace.
   * `link`: each poll starts a new trace, whose consumer spans link to their producer spans.
   */
  KAFKA_TRACE_MODE: z.enum(['parent', 'link']).default('parent'),
  NOTIFICATION_URL: httpUrl('http://localhost:8084'),
});

export type Config = z.infer<typeof envSchema>;

export const loadConfig = () => parseEnv(envSchema);
