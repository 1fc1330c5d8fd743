import { dataFile, parseEnv, port } from '@eshop/config';
import { FAULT_INJECTION_HEADER_ENV, FAULTS, faultEnv, faultInjectionHeaderEnv } from '@eshop/faults';
import { z } from 'zod';

export const envSchema = z.object({
  PORT: port(8084),
  /**
   * The SQLite file that records every e-mail sent, and so which orders were e-mailed: keep it across restarts
   * (a volume, a PersistentVolumeClaim), or a replayed event gets a second e-mail. `pnpm start` puts it in its run
   * folder.
   */
  NOTIFICATION_DB: dataFile('notification.db'),
  /** Fault: the percentage of sends that fail with 503, for the consumer to retry; 0, off. */
  [FAULTS['email-fails'].env]: faultEnv('email-fails'),
  /** `enabled`: a request may turn the fault on itself (`x-fault` at eshop, carried through Kafka); off by default. */
  [FAULT_INJECTION_HEADER_ENV]: faultInjectionHeaderEnv(),
});

export const loadConfig = () => parseEnv(envSchema);
