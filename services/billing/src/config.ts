import { parseEnv, port } from '@eshop/config';
import { z } from 'zod';

export const envSchema = z.object({
  PORT: port(8082),
});

export const loadConfig = () => parseEnv(envSchema);
