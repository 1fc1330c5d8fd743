// The container's health check: `node healthcheck.js [path]` exits 0 when GET <path> (default /healthz) on the
// service's own port answers 2xx within 2 s. Slim images have no curl, and the port comes from the service's
// env schema, so its default stays defined in one place. build.sh copies this file next to dist/.
'use strict';
const { envSchema } = require('./dist/src/config.js');

const port = envSchema.shape.PORT.parse(process.env.PORT);
const path = process.argv[2] ?? '/healthz';
fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) }).then(
  (response) => process.exit(response.ok ? 0 : 1),
  () => process.exit(1),
);
