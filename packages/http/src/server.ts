import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Server, ServerResponse } from 'node:http';
import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import { milliseconds, parseEnv } from '@eshop/config';
import { logger } from '@eshop/logger';
import express, { type ErrorRequestHandler, type Express, type Router } from 'express';
import { z } from 'zod';
import { asProblem, HttpError } from './problem';
import { recordFailure } from '@eshop/tracing/spans';

export interface ServiceAppOptions {
  /** The service's routes. */
  routes: Router;
  /** Whether the dependencies the service needs are reachable; `GET /readyz` answers 503 until they are. */
  isReady?: () => boolean | Promise<boolean>;
  /** What people may want to know of the service's state (a consumer's lag), added to `/healthz` and `/readyz`. */
  details?: () => Record<string, unknown>;
  /** The largest JSON body accepted; a larger one is answered 413. */
  bodyLimit?: string;
  /** Routes that read their request bodies themselves (another type or size limit): they come before the JSON parser. */
  ownBodyRoutes?: Router;
}

/**
 * The express app every service shares: JSON bodies, `/healthz` and `/readyz`, a request log line, the W3C
 * `traceresponse` header, and problem+json answers for every error, including unknown routes.
 */
export function createServiceApp({
  routes,
  isReady = () => true,
  details = () => ({}),
  bodyLimit = '16kb',
  ownBodyRoutes,
}: ServiceAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(traceResponse, logRequest);
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', ...details(), ...tracingStatus() });
  });
  app.get('/readyz', async (_req, res) => {
    const ready = await isReady();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', ...details() });
  });
  if (ownBodyRoutes) app.use(ownBodyRoutes);
  app.use(requireJsonBody, express.json({ limit: bodyLimit, strict: true }), routes);
  app.use((req, _res) => {
    throw new HttpError(404, 'Not found', { detail: `no route for ${req.method} ${req.path}` });
  });
  app.use(writeProblem);
  return app;
}

/**
 * What the tracing bootstrap says of its span export (`EXPORT_STATUS_KEY` in packages/tracing/src/export.ts), under
 * the name it publishes it by: the spans it had to drop. Nothing when the process runs untraced.
 */
function tracingStatus(): { tracing?: { droppedSpans: number } } {
  const status = (globalThis as Record<symbol, unknown>)[Symbol.for('eshop.tracing.export')] as
    { droppedSpans: number } | undefined;
  return status ? { tracing: { droppedSpans: status.droppedSpans } } : {};
}

/** The server span's id in a `traceresponse` header, so a caller can go straight to the trace. */
const traceResponse: express.RequestHandler = (_req, res, next) => {
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (spanContext && isSpanContextValid(spanContext)) {
    const flags = spanContext.traceFlags.toString(16).padStart(2, '0');
    res.setHeader('traceresponse', `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`);
  }
  next();
};

const logRequest: express.RequestHandler = (req, res, next) => {
  if (req.path === '/healthz' || req.path === '/readyz') return next();
  const started = performance.now();
  // Bound to the request's context, so the line carries the request's trace_id and span_id.
  const done = context.bind(context.active(), () => {
    // The matched route's pattern, e.g. `/orders/:id` (express types `req.route` as `any`).
    const route = (req.route as { path?: string } | undefined)?.path ?? req.path;
    const duration_ms = Math.round(performance.now() - started);
    logger.info({ method: req.method, route, status: res.statusCode, duration_ms }, 'request');
  });
  res.once('finish', done);
  next();
};

/**
 * Writes every error as an RFC 9457 problem+json answer. A failure of the service (5xx) or of what the request
 * was for (an `errorType`) also marks the server span and is logged.
 */
const writeProblem: ErrorRequestHandler = (error, _req, res, _next) => {
  const problem = asProblem(error);
  const { status, title, errors, errorType } = problem;
  if (status >= 500 && !errorType) logger.error({ err: error }, 'request failed');
  else if (errorType) logger.warn({ status, error_type: errorType }, `request failed: ${problem.message}`);
  if (status >= 500 || errorType) {
    recordFailure(trace.getActiveSpan(), error, errorType ?? (error instanceof Error ? error.name : 'unknown'));
  }
  res.status(status).set(problem.headers).type('application/problem+json');
  res.json({ type: 'about:blank', title, status, detail: problem.message, errors });
};

/** A request with a body must say it is JSON; an empty body (no length, or 0) is left to the schema to refuse. */
const requireJsonBody: express.RequestHandler = (req, _res, next) => {
  const length = req.headers['content-length'];
  if ((length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined) {
    if (!req.is('application/json')) {
      throw new HttpError(415, 'Unsupported media type', { detail: 'send the body as application/json' });
    }
  }
  next();
};

export interface RunningServer {
  server: Server;
  port: number;
  /**
   * Stops taking connections and waits up to `drainMs` for the requests in flight; rejects if some were still
   * running then, once their connections are cut.
   */
  close(drainMs?: number): Promise<void>;
}

/**
 * The interface a service listens on: loopback unless LISTEN_HOST says otherwise. Closed by default, so that a
 * service run on a laptop does not offer `/emails` or `/refund` to its network; the image sets 0.0.0.0, where
 * the container's own network is the boundary.
 */
export const listenHost = (env: NodeJS.ProcessEnv = process.env): string => env.LISTEN_HOST || '127.0.0.1';

/**
 * Listens on `port` (0 for any free port) of `host` and resolves once the server accepts connections.
 *
 * `close` stops accepting, keep-alive connections included: idle ones are closed at once, and every answer from
 * then on (to the requests in flight, and to any that arrive on a connection already open) says
 * `Connection: close`, so that its client opens its next connection elsewhere.
 */
export async function listen(app: Express, port: number, host = listenHost()): Promise<RunningServer> {
  const server = app.listen(port, host);
  await once(server, 'listening');
  const inFlight = new Set<ServerResponse>();
  let closing = false;
  server.on('request', (_req, res: ServerResponse) => {
    if (closing) res.setHeader('Connection', 'close');
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: async (drainMs = Infinity) => {
      closing = true;
      const closed = once(server, 'close');
      server.close();
      server.closeIdleConnections();
      for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        closed.then(() => true),
        new Promise<boolean>((resolve) => {
          if (Number.isFinite(drainMs)) timer = setTimeout(() => resolve(false), drainMs);
        }),
      ]);
      clearTimeout(timer);
      if (drained) return;
      const cut = inFlight.size;
      server.closeAllConnections();
      await closed;
      throw new Error(`${cut} requests still running after ${drainMs} ms were cut`);
    },
  };
}

/** How long a stopping service lets its requests in flight finish: longer than the slowest checkout. */
const DEFAULT_DRAIN_MS = 45_000;
const drainEnv = z.object({ SHUTDOWN_DRAIN_MS: milliseconds(DEFAULT_DRAIN_MS) });
/** After the drain, how long the service's resources and the last span export may take before the process exits. */
const RELEASE_MS = 10_000;
/** The longest a service takes to stop, with the default drain: compose's and Kubernetes' grace must be longer. */
export const LONGEST_STOP_MS = DEFAULT_DRAIN_MS + RELEASE_MS;

/**
 * Runs a service's start-up. A failure there (a bad variable, a port in use, an unreachable broker) is one
 * log line naming it and exit code 1, not a stack trace.
 */
export function main(start: () => Promise<unknown>): void {
  start().catch((error: unknown) => {
    logger.fatal({ err: error }, `cannot start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}

/**
 * Runs a service until SIGTERM or SIGINT, then stops it gracefully:
 * 1. it stops accepting requests, keep-alive connections included (see `listen`);
 * 2. the requests in flight finish, for up to SHUTDOWN_DRAIN_MS (45 s by default, longer than the slowest
 *    checkout); those still running then are cut;
 * 3. the service's other resources are released (consumers leave their group, producers disconnect);
 * 4. once nothing holds the event loop, the tracing bootstrap exports the last spans, and the process exits:
 *    0, or 1 when requests had to be cut or a step failed. Whatever still holds the loop RELEASE_MS after the
 *    drain is not going to let go: the process exits then.
 * A second signal ends the process at once.
 */
export async function runService(
  name: string,
  app: Express,
  port: number,
  releaseResources: () => void | Promise<void> = () => {},
): Promise<RunningServer> {
  const { SHUTDOWN_DRAIN_MS: drainMs } = parseEnv(drainEnv);
  const running = await listen(app, port);
  logger.info({ host: listenHost(), port: running.port }, `${name} listening`);
  const stop = async (signal: NodeJS.Signals) => {
    logger.info({ signal, drainMs }, `${name} stopping: answering the requests in flight`);
    setTimeout(() => {
      logger.error(`${name} still holds resources ${RELEASE_MS} ms after draining; exiting`);
      process.exit(process.exitCode ?? 1);
    }, drainMs + RELEASE_MS).unref();
    await running.close(drainMs).catch((error: unknown) => {
      logger.error({ err: error }, `${name} did not drain in time`);
      process.exitCode = 1;
    });
    await releaseResources();
    process.exitCode ??= 0;
    logger.info(`${name} stopped`);
  };
  // A failed stop is logged and exits non-zero; left unhandled it would crash the process before the last spans
  // are exported.
  const onSignal = (signal: NodeJS.Signals) => {
    stop(signal).catch((error: unknown) => {
      logger.error({ err: error, signal }, `${name} failed to stop cleanly`);
      process.exitCode = 1;
    });
  };
  process.once('SIGTERM', onSignal).once('SIGINT', onSignal);
  return running;
}
