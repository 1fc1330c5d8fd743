import type { ErrorRequestHandler, RequestHandler } from 'express';
import { z } from 'zod';

export interface FieldProblem {
  field: string;
  reason: string;
}

export interface ProblemDetails {
  /** What went wrong, for a person; the title when absent. */
  detail?: string;
  /** One entry per bad field. */
  errors?: FieldProblem[];
  /** Extra response headers, e.g. `Retry-After`. */
  headers?: Record<string, string>;
  /**
   * Says the request failed at what it was for (a payment declined, a checkout undone), not through a mistake of
   * its caller: the server span is then marked ERROR with this `error.type`, even for a 4xx.
   */
  errorType?: string;
}

/**
 * An error that becomes an RFC 9457 problem response: `{ type, title, status, detail, errors? }` served as
 * `application/problem+json`. Throw it from a handler; the service's error handler writes it.
 */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly errors?: FieldProblem[];
  readonly headers: Record<string, string>;
  readonly errorType?: string;

  constructor(
    readonly status: number,
    readonly title: string,
    { detail, errors, headers = {}, errorType }: ProblemDetails = {},
  ) {
    super(detail ?? title);
    this.errors = errors;
    this.headers = headers;
    this.errorType = errorType;
  }

  toProblem() {
    return {
      type: 'about:blank',
      title: this.title,
      status: this.status,
      detail: this.message,
      ...(this.errors ? { errors: this.errors } : {}),
    };
  }
}

/** One problem per bad field, named by its path under `prefix` (the body when there is none). */
export function fieldProblems(error: z.ZodError, prefix?: string): FieldProblem[] {
  const name = (path: PropertyKey[]) => [prefix, ...path.map(String)].filter(Boolean).join('.') || '(body)';
  return error.issues.flatMap((issue) =>
    // An unknown key is named itself, rather than the object that holds it.
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ field: name([...issue.path, key]), reason: 'unknown name' }))
      : [{ field: name(issue.path), reason: issue.message }],
  );
}

/** Validates and replaces `req.body` with the parsed value; a mismatch is a 400 naming every bad field. */
export function validateBody(schema: z.ZodType): RequestHandler {
  return (req, _res, next) => {
    const result = schema.safeParse(req.body);
    if (!result.success) {
      throw new HttpError(400, 'Invalid request body', {
        detail: 'the request body does not match the schema',
        errors: fieldProblems(result.error),
      });
    }
    req.body = result.data;
    next();
  };
}

/**
 * Errors thrown by express's JSON parser (and the router), told apart by the `type` they set. Any other error
 * they mark as the client's (a 4xx status, e.g. a broken gzip body or an aborted upload) keeps its status.
 */
function parserProblem(error: {
  type?: unknown;
  message?: unknown;
  status?: unknown;
  expose?: unknown;
}): HttpError | undefined {
  const message = typeof error.message === 'string' ? error.message : undefined;
  switch (error.type) {
    case 'entity.parse.failed':
      return new HttpError(400, 'Malformed JSON', {
        detail: 'the request body is not valid JSON',
        errors: [{ field: '(body)', reason: 'not valid JSON' }],
      });
    case 'entity.too.large':
      return new HttpError(413, 'Request body too large', { detail: message });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpError(415, 'Unsupported encoding', { detail: message });
  }
  if (typeof error.status === 'number' && error.status >= 400 && error.status < 500) {
    return new HttpError(error.status, 'Bad request', {
      detail: error.expose === true && message ? message : 'the request cannot be read',
    });
  }
  return undefined;
}

/** The problem a thrown error becomes: its own, the parser's, or a 500 that tells nothing of the internals. */
export function asProblem(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  const parsed = typeof error === 'object' && error !== null ? parserProblem(error) : undefined;
  return parsed ?? new HttpError(500, 'Internal error', { detail: 'unexpected error' });
}

/** Writes every error as problem+json; `onFailure` sees those that are the service's (5xx) or the operation's. */
export function problemHandler(onFailure: (error: unknown, problem: HttpError) => void): ErrorRequestHandler {
  return (error, _req, res, _next) => {
    const problem = asProblem(error);
    if (problem.status >= 500 || problem.errorType) onFailure(error, problem);
    res.status(problem.status).set(problem.headers).type('application/problem+json').json(problem.toProblem());
  };
}
