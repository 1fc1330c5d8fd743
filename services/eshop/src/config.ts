import { httpUrl, list, parseEnv, port } from '@eshop/config';
import { z } from 'zod';

export const envSchema = z.object({
  PORT: port(8080),
  INVENTORY_URL: httpUrl('http://localhost:8081'),
  BILLING_URL: httpUrl('http://localhost:8082'),
  DELIVERY_URL: httpUrl('http://localhost:8083'),
  KAFKA_BROKERS: list('127.0.0.1:9092'),
});

export const loadConfig = () => parseEnv(envSchema);
