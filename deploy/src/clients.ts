import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createBillingClient } from '@eshop/billing/client';
import { createDeliveryClient } from '@eshop/delivery/client';
import { createInventoryClient } from '@eshop/inventory/client';
import { createNotificationClient } from '@eshop/notification/client';
import { SERVICES } from './env';
import { REPO_ROOT } from './run';

/** One request that one operation of a service's client makes. */
export interface ClientRequest {
  to: string;
  /** The client's function: `createOrder`, `getPayment`... */
  operation: string;
  method: string;
  /** Without the query string. */
  path: string;
}

// Each operation takes one argument at most; a string stands in for all of them (an order id, or a body).
const CLIENTS: Record<string, (baseUrl: string) => Record<string, (argument: never) => Promise<unknown>>> = {
  inventory: createInventoryClient,
  billing: createBillingClient,
  delivery: createDeliveryClient,
  notification: createNotificationClient,
};

/**
 * What each service's client sends, seen by a server that records every request: each operation of each client
 * called once, against it. The clients themselves say which methods and paths exist, not a list kept beside them.
 */
export async function clientRequests(): Promise<ClientRequest[]> {
  const seen: { method: string; path: string }[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', path: new URL(req.url ?? '/', 'http://x').pathname });
    res.setHeader('content-type', 'application/json');
    res.end('{}');
  });
  await once(server.listen(0, '127.0.0.1'), 'listening');
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const requests: ClientRequest[] = [];
  try {
    for (const [to, create] of Object.entries(CLIENTS)) {
      for (const [operation, call] of Object.entries(create(baseUrl))) {
        const before = seen.length;
        await call('order-1' as never);
        for (const request of seen.slice(before)) requests.push({ to, operation, ...request });
      }
    }
  } finally {
    server.close();
  }
  return requests;
}

/** The services, other than `to` itself, whose code calls the client operation `operation` (`.operation(`). */
export function callersOf(operation: string, to: string): string[] {
  return SERVICES.filter(
    (service) => service !== to && sourcesOf(service).some((source) => source.includes(`.${operation}(`)),
  );
}

function sourcesOf(service: string): string[] {
  const dir = join(REPO_ROOT, 'services', service, 'src');
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => readFileSync(join(dir, file), 'utf8'));
}
