import axios, { isAxiosError, type AxiosError } from 'axios';
import axiosRetry, { exponentialDelay } from 'axios-retry';
import { logger } from '@eshop/logger';

/**
 * How a call to another service failed: it refused (4xx), failed (5xx, or the connection broke mid-way), timed
 * out, or could not be reached at all (no attempt was sent, so nothing was done).
 */
export type UpstreamFailure = 'refused' | 'failed' | 'timeout' | 'unreachable';

/**
 * A call to another service that did not succeed: its status (0 when there was no answer) and its body.
 * `answered` is false when the service itself gave no answer: none came, or only a proxy's (see `proxyAnswer`).
 */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';

  constructor(
    readonly service: string,
    readonly failure: UpstreamFailure,
    readonly status: number,
    readonly body: unknown,
    message: string,
    readonly answered = status !== 0,
  ) {
    super(message);
  }
}

export interface JsonClient {
  /**
   * `idempotent`: the callee answers a repeat of this call as it answered the first (each service does, by order
   * id), so it may be retried. Only such calls are.
   */
  post<T>(path: string, body: unknown, options?: { idempotent?: boolean }): Promise<T>;
  get<T>(path: string): Promise<T>;
}

export interface JsonClientOptions {
  /** How long one attempt may take. */
  timeoutMs?: number;
  /** How many times to repeat an idempotent call that got no answer, timed out or got a 5xx. Off (0) by default. */
  retries?: number;
}

const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const TIMEOUT_CODES = new Set(['ECONNABORTED', 'ETIMEDOUT']);

/** The statuses a proxy in front of a service answers when it cannot get the service's own answer. */
const PROXY_STATUSES = new Set([502, 503, 504]);

/**
 * A 502, 503 or 504 without a problem+json body is a proxy's (a sidecar's, a gateway's) answer, not the service's:
 * the service is down, restarting or slow, exactly as when no answer came. Every service here writes its own
 * errors as problem+json (see createServiceApp), so its own 503 (say, "e-mail not sent") keeps its meaning.
 */
function proxyAnswer(error: AxiosError): boolean {
  const { status, headers } = error.response ?? {};
  if (status === undefined || !PROXY_STATUSES.has(status)) return false;
  return !/^application\/problem\+json\b/.test(String(headers?.['content-type'] ?? ''));
}

/**
 * Where a call's config notes how an earlier attempt failed, when it may have reached the server: axios copies a
 * config's own keys into each retry's.
 */
const EARLIER_FAILURE = 'eshop-earlier-failure';

function failureOf(error: AxiosError): UpstreamFailure {
  const status = error.response?.status;
  // The proxy's gateway timeout: the call may have reached the service, which may still do the work.
  if (status === 504 && proxyAnswer(error)) return 'timeout';
  if (status) return status >= 500 ? 'failed' : 'refused';
  if (TIMEOUT_CODES.has(error.code ?? '')) return 'timeout';
  return NOT_SENT_CODES.has(error.code ?? '') ? 'unreachable' : 'failed';
}

/**
 * How a call failed, all its attempts taken together: one that could not reach the server after an earlier one
 * may have (a timeout, a 5xx) is not `unreachable`, since the earlier one may have done the work.
 */
function callFailureOf(error: AxiosError): UpstreamFailure {
  const failure = failureOf(error);
  const earlier = (error.config as Record<string, unknown> | undefined)?.[EARLIER_FAILURE] as
    UpstreamFailure | undefined;
  return failure === 'unreachable' && earlier ? earlier : failure;
}

/**
 * A JSON client for one service. The http instrumentation traces every call (each retry is a CLIENT span of
 * its own) and injects the trace headers; this adds a timeout per attempt, opt-in retries of idempotent calls
 * (after 200 ms, 400 ms, ...), and turns any status of 400 or more, or no answer at all, into an `UpstreamError`.
 */
export function createJsonClient(
  service: string,
  baseURL: string,
  { timeoutMs = 5000, retries = 0 }: JsonClientOptions = {},
): JsonClient {
  const http = axios.create({ baseURL, timeout: timeoutMs });
  axiosRetry(http, {
    retries,
    retryCondition: (error) => (error.response ? error.response.status >= 500 : error.code !== 'ERR_CANCELED'),
    retryDelay: (attempt, error) => exponentialDelay(attempt, error, 100),
    // Each attempt has the full timeout, so a slow first attempt does not leave the retry no time at all.
    shouldResetTimeout: true,
    onRetry: (attempt, error, config) => {
      const failure = failureOf(error);
      const notes = config as Record<string, unknown>;
      if (failure !== 'unreachable' && notes[EARLIER_FAILURE] === undefined) notes[EARLIER_FAILURE] = failure;
      logger.warn({ service, path: config.url, attempt, reason: error.code ?? error.response?.status }, 'retrying');
    },
  });
  const call = async <T>(request: Promise<{ data: T }>, what: string): Promise<T> => {
    try {
      return (await request).data;
    } catch (error) {
      if (!isAxiosError(error)) throw error;
      const failure = callFailureOf(error);
      const status = error.response?.status ?? 0;
      const reason = status
        ? `answered ${status}`
        : failure === 'timeout'
          ? `did not answer within ${timeoutMs} ms${failureOf(error) === 'timeout' ? '' : `, then ${error.code}`}`
          : `did not answer (${error.code ?? error.message})`;
      const answered = status !== 0 && !proxyAnswer(error);
      const by = status !== 0 && !answered ? ' (a proxy, not the service)' : '';
      throw new UpstreamError(
        service,
        failure,
        status,
        error.response?.data,
        `${service} ${what} ${reason}${by}`,
        answered,
      );
    }
  };
  return {
    // axios-retry's own per-request setting: a call that is not idempotent is never repeated.
    post: (path, body, { idempotent = false } = {}) =>
      call(http.post(path, body, idempotent ? {} : { 'axios-retry': { retries: 0 } }), `POST ${path}`),
    get: (path) => call(http.get(path), `GET ${path}`),
  };
}
