import type { ErrorRequestHandler, RequestHandler } from 'express';
import { z } from 'zod';

export interface FieldProblem {
  field: string;
  reason: string;
}

/**
 * An error that becomes an RFC 9457 problem response: `{ type, title, status, detail, errors? }` served as
 * `application/problem+json`. Throw it from a handler; the service's error handler writes it.
 */
export class HttpError extends Error {
  override readonly name = 'HttpError';

  constructor(
    readonly status: number,
    readonly title: string,
    detail?: string,
    readonly errors?: FieldProblem[],
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? title);
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

export function fieldProblems(error: z.ZodError): FieldProblem[] {
  return error.issues.map((issue) => ({ field: issue.path.join('.') || '(body)', reason: issue.message }));
}

/** Validates and replaces `req.body` with the parsed value; a mismatch is a 400 naming every bad field. */
export function validateBody(schema: z.ZodType): RequestHandler {
  return (req, _res, next) => {
    const result = schema.safeParse(req.body);
    if (!result.success) {
      throw new HttpError(400, 'Invalid request body', 'the request body does not match the schema', fieldProblems(result.error));
    }
    req.body = result.data;
    next();
  };
}

/** Errors thrown by express's own JSON parser, told apart by the `type` it sets. */
function parserProblem(error: { type?: unknown; message?: string }): HttpError | undefined {
  switch (error.type) {
    case 'entity.parse.failed':
      return new HttpError(400, 'Malformed JSON', 'the request body is not valid JSON');
    case 'entity.too.large':
      return new HttpError(413, 'Request body too large', error.message);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpError(415, 'Unsupported encoding', error.message);
    default:
      return undefined;
  }
}

export function problemHandler(onUnexpected: (error: unknown) => void): ErrorRequestHandler {
  return (error, _req, res, _next) => {
    const problem =
      error instanceof HttpError ? error : (parserProblem(error) ?? new HttpError(500, 'Internal error', 'unexpected error'));
    if (problem.status >= 500) onUnexpected(error);
    res.status(problem.status).set(problem.headers).type('application/problem+json').json(problem.toProblem());
  };
}
