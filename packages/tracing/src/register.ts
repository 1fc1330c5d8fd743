// Preloaded by every service (`node --require @eshop/tracing/register main.js`), so that the SDK patches http,
// express and kafkajs before any service module loads them. Business code never imports this package.
import { startTracing } from './sdk';

const sdk = startTracing();

// A service shuts down by closing its server and clients; once the event loop has nothing left to do, the
// spans still buffered are exported before the process exits.
process.once('beforeExit', () => {
  void sdk?.shutdown();
});
