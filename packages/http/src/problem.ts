import { STATUS_CODES } from 'node:http';
import type { Request, RequestHandler } from 'express';
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

/** Validates a path parameter, `/payment/:orderId` for instance; a mismatch is a 400 naming it. */
export function validateParam<T>(schema: z.ZodType<T>, req: Request, name: string): T {
  const result = schema.safeParse(req.params[name]);
  if (!result.success) {
    throw new HttpError(400, `Invalid ${name}`, {
      detail: `the ${name} in the path is not valid`,
      errors: fieldProblems(result.error, name),
    });
  }
  return result.data;
}

interface ParserError {
  type?: unknown;
  status?: unknown;
  expose?: unknown;
  message?: unknown;
}

/**
 * The problem for an error of express's JSON parser: malformed JSON names the body; any other error it marks as
 * the client's (too large, an unsupported charset, a broken gzip body) keeps its status, titled by it.
 */
function parserProblem({ type, status, expose, message }: ParserError): HttpError | undefined {
  if (type === 'entity.parse.failed') {
    return new HttpError(400, 'Malformed JSON', {
      detail: 'the request body is not valid JSON',
      errors: [{ field: '(body)', reason: 'not valid JSON' }],
    });
  }
  if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  return new HttpError(status, STATUS_CODES[status] ?? 'Bad Request', {
    detail: expose === true && typeof message === 'string' ? message : 'the request cannot be read',
  });
}

/** The problem a thrown error becomes: its own, the parser's, or a 500 that tells nothing of the internals. */
export function asProblem(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  const parsed = typeof error === 'object' && error !== null ? parserProblem(error) : undefined;
  return parsed ?? new HttpError(500, 'Internal error', { detail: 'unexpected error' });
}
