import axios, { isAxiosError, type AxiosInstance } from 'axios';

/** A call to another service that did not succeed: its status (0 when there was no answer) and its body. */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';

  constructor(
    readonly service: string,
    readonly status: number,
    readonly body: unknown,
    message: string,
  ) {
    super(message);
  }
}

export interface JsonClient {
  post<T>(path: string, body: unknown): Promise<T>;
  get<T>(path: string): Promise<T>;
}

/**
 * A JSON client for one service. The http instrumentation traces every call and injects the trace headers;
 * this adds a timeout and turns any status of 400 or more, or no answer at all, into an `UpstreamError`.
 */
export function createJsonClient(service: string, baseURL: string, timeoutMs = 5000): JsonClient {
  const http: AxiosInstance = axios.create({ baseURL, timeout: timeoutMs });
  const call = async <T>(request: Promise<{ data: T }>, what: string): Promise<T> => {
    try {
      return (await request).data;
    } catch (error) {
      if (!isAxiosError(error)) throw error;
      const status = error.response?.status ?? 0;
      const reason = status ? `answered ${status}` : `did not answer (${error.code ?? error.message})`;
      throw new UpstreamError(service, status, error.response?.data, `${service} ${what} ${reason}`);
    }
  };
  return {
    post: (path, body) => call(http.post(path, body), `POST ${path}`),
    get: (path) => call(http.get(path), `GET ${path}`),
  };
}
