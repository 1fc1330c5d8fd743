import { parseEnv, port } from '@eshop/config';
import { z } from 'zod';

export const envSchema = z.object({
  PORT: port(8084),
  /** How many sent e-mails `GET /emails` keeps; the oldest go first. */
  MAILBOX_SIZE: z.coerce.number().int().min(1).max(100_000).default(1000),
});

export const loadConfig = () => parseEnv(envSchema);
