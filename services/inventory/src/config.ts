import { parseEnv, port } from '@eshop/config';
import { z } from 'zod';

export const envSchema = z.object({
  PORT: port(8081),
  /** Units of every SKU in stock at start. */
  INITIAL_STOCK: z.coerce.number().int().min(0).default(5000),
});

export const loadConfig = () => parseEnv(envSchema);
