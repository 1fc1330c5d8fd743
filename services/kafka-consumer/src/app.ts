import { createServiceApp } from '@eshop/http';
import { Router } from 'express';

/** Health only: this service's work comes from Kafka, not from HTTP. */
export function createApp(isReady: () => Promise<boolean>) {
  return createServiceApp({ routes: Router(), isReady });
}
