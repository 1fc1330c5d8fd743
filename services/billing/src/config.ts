import { parseEnv, port } from '@eshop/config';
import { FAULT_INJECTION_HEADER_ENV, FAULTS, faultEnv, faultInjectionHeaderEnv } from '@eshop/faults';
import { z } from 'zod';

export const envSchema = z.object({
  PORT: port(8082),
  /** Fault: the percentage of payments declined; 0, off. */
  [FAULTS['payment-declined'].env]: faultEnv('payment-declined'),
  /** `enabled`: a request may turn the fault on itself (`x-fault` at eshop); off by default. */
  [FAULT_INJECTION_HEADER_ENV]: faultInjectionHeaderEnv(),
});

export const loadConfig = () => parseEnv(envSchema);
