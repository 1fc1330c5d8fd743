import { dataFile, list, parseEnv, port } from '@eshop/config';
import { FAULT_INJECTION_HEADER_ENV, FAULTS, faultEnv, faultInjectionHeaderEnv } from '@eshop/faults';
import { z } from 'zod';

export const envSchema = z.object({
  PORT: port(8083),
  /**
   * The SQLite file of the deliveries arranged and dispatched: keep it across restarts (a volume, a
   * PersistentVolumeClaim), or an order's event finds no delivery to dispatch. `pnpm start` puts it in its run folder.
   */
  DELIVERY_DB: dataFile('delivery.db'),
  KAFKA_BROKERS: list('127.0.0.1:9092'),
  /** Delivery's own consumer group on `orders`: it sees every event, whatever kafka-consumer's group has read. */
  KAFKA_GROUP_ID: z.string().min(1).default('delivery'),
  /** Fault: milliseconds delivery waits before it answers; 0, off. */
  [FAULTS['delivery-slow'].env]: faultEnv('delivery-slow'),
  /** `enabled`: a request may turn the fault on itself (`x-fault` at eshop); off by default. */
  [FAULT_INJECTION_HEADER_ENV]: faultInjectionHeaderEnv(),
});

export const loadConfig = () => parseEnv(envSchema);
