import { dataFile, parseEnv, port } from '@eshop/config';
import { FAULT_INJECTION_HEADER_ENV, FAULTS, faultEnv, faultInjectionHeaderEnv } from '@eshop/faults';
import { z } from 'zod';

export const envSchema = z.object({
  PORT: port(8081),
  /**
   * The SQLite file of the stock and the reservations: keep it across restarts (a volume, a PersistentVolumeClaim),
   * or stock sold is sold again. `pnpm start` puts it in its run folder.
   */
  INVENTORY_DB: dataFile('inventory.db'),
  /** Units of every SKU in stock when INVENTORY_DB is new. */
  INITIAL_STOCK: z.coerce.number().int().min(0).default(5000),
  /** Fault: the percentage of reservations refused as out of stock; 0, off. */
  [FAULTS['out-of-stock'].env]: faultEnv('out-of-stock'),
  /** `enabled`: a request may turn the fault on itself (`x-fault` at eshop); off by default. */
  [FAULT_INJECTION_HEADER_ENV]: faultInjectionHeaderEnv(),
});

export const loadConfig = () => parseEnv(envSchema);
