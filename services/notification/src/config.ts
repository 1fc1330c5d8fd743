import { parseEnv, port } from '@eshop/config';
import { FAULT_INJECTION_HEADER_ENV, FAULTS, faultEnv, faultInjectionHeaderEnv } from '@eshop/faults';
import { z } from 'zod';

export const envSchema = z.object({
  PORT: port(8084),
  /** How many sent e-mails `GET /emails` keeps; the oldest go first. */
  MAILBOX_SIZE: z.coerce.number().int().min(1).max(100_000).default(1000),
  /** Fault: the percentage of sends that fail with 503, for the consumer to retry; 0, off. */
  [FAULTS['email-fails'].env]: faultEnv('email-fails'),
  /** `enabled`: a request may turn the fault on itself (`x-fault` at eshop, carried through Kafka); off by default. */
  [FAULT_INJECTION_HEADER_ENV]: faultInjectionHeaderEnv(),
});

export const loadConfig = () => parseEnv(envSchema);
