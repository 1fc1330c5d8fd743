import axios, { isAxiosError, type AxiosError, type AxiosInstance } from 'axios';
import axiosRetry, { exponentialDelay } from 'axios-retry';
import { logger } from '@eshop/logger';

/**
 * How a call to another service failed: it refused (4xx), failed (5xx, or the connection broke mid-way), timed
 * out, or could not be reached at all (nothing was sent, so nothing was done).
 */
export type UpstreamFailure = 'refused' | 'failed' | 'timeout' | 'unreachable';

const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** A call to another service that did not succeed: its status (0 when there was no answer) and its body. */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';

  constructor(
    readonly service: string,
    readonly status: number,
    readonly body: unknown,
    message: string,
    readonly failure: UpstreamFailure = status >= 500 ? 'failed' : status >= 400 ? 'refused' : 'unreachable',
  ) {
    super(message);
  }

  /** Whether the callee answered with a definite no: the call did nothing, and repeating it will not help. */
  get refused(): boolean {
    return this.failure === 'refused';
  }

  /** Whether the call surely did nothing: refused, or never reached the callee. */
  get didNothing(): boolean {
    return this.failure === 'refused' || this.failure === 'unreachable';
  }
}

export interface CallOptions {
  /**
   * The callee answers a repeat of this call as it answered the first (each service does, by order id), so it may
   * be retried. Only such calls are.
   */
  idempotent?: boolean;
}

export interface JsonClient {
  post<T>(path: string, body: unknown, options?: CallOptions): Promise<T>;
  get<T>(path: string): Promise<T>;
}

export interface JsonClientOptions {
  /** How long one attempt may take. */
  timeoutMs?: number;
  /**
   * How many times to repeat an attempt that got no answer, timed out or got a 5xx, after 200 ms, 400 ms, ...
   * Only idempotent calls are repeated, since the callee does their work once whatever the number of attempts.
   * Off (0) unless asked for.
   */
  retries?: number;
}

const TIMEOUT_CODES = new Set(['ECONNABORTED', 'ETIMEDOUT']);

function isTimeout(error: AxiosError): boolean {
  return !error.response && TIMEOUT_CODES.has(error.code ?? '');
}

function isRetryable(error: AxiosError): boolean {
  if (error.response) return error.response.status >= 500;
  return error.code !== 'ERR_CANCELED';
}

/**
 * A JSON client for one service. The http instrumentation traces every call (each retry is a CLIENT span of
 * its own) and injects the trace headers; this adds a timeout per attempt, opt-in retries of idempotent calls,
 * and turns any status of 400 or more, or no answer at all, into an `UpstreamError`.
 */
export function createJsonClient(
  service: string,
  baseURL: string,
  { timeoutMs = 5000, retries = 0 }: JsonClientOptions = {},
): JsonClient {
  const http: AxiosInstance = axios.create({ baseURL, timeout: timeoutMs });
  if (retries > 0) {
    axiosRetry(http, {
      retries,
      retryCondition: isRetryable,
      retryDelay: (attempt, error) => exponentialDelay(attempt, error, 100),
      // Each attempt has the full timeout, so a slow first attempt does not leave the retry no time at all.
      shouldResetTimeout: true,
      onRetry: (attempt, error, config) => {
        logger.warn(
          { service, path: config.url, attempt, reason: error.code ?? error.response?.status },
          `retrying ${service}`,
        );
      },
    });
  }
  const call = async <T>(request: Promise<{ data: T }>, what: string): Promise<T> => {
    try {
      return (await request).data;
    } catch (error) {
      if (!isAxiosError(error)) throw error;
      const status = error.response?.status ?? 0;
      const timedOut = isTimeout(error);
      const reason = status
        ? `answered ${status}`
        : timedOut
          ? `did not answer within ${timeoutMs} ms`
          : `did not answer (${error.code ?? error.message})`;
      const failure = timedOut ? 'timeout' : !status && !NOT_SENT_CODES.has(error.code ?? '') ? 'failed' : undefined;
      throw new UpstreamError(service, status, error.response?.data, `${service} ${what} ${reason}`, failure);
    }
  };
  return {
    // axios-retry's own per-request setting: a call that is not idempotent is never repeated.
    post: (path, body, { idempotent = false } = {}) =>
      call(http.post(path, body, idempotent ? {} : { 'axios-retry': { retries: 0 } }), `POST ${path}`),
    get: (path) => call(http.get(path), `GET ${path}`),
  };
}
