import { dataFile, parseEnv, port } from '@eshop/config';
import { FAULT_INJECTION_HEADER_ENV, FAULTS, faultEnv, faultInjectionHeaderEnv } from '@eshop/faults';
import { z } from 'zod';

export const envSchema = z.object({
  PORT: port(8082),
  /**
   * The SQLite file of the charges and refunds: keep it across restarts (a volume, a PersistentVolumeClaim), or a
   * repeated charge is a second charge, and a refund finds nothing to refund. `pnpm start` puts it in its run folder.
   */
  BILLING_DB: dataFile('billing.db'),
  /** Fault: the percentage of payments declined; 0, off. */
  [FAULTS['payment-declined'].env]: faultEnv('payment-declined'),
  /** `enabled`: a request may turn the fault on itself (`x-fault` at eshop); off by default. */
  [FAULT_INJECTION_HEADER_ENV]: faultInjectionHeaderEnv(),
});

export const loadConfig = () => parseEnv(envSchema);
