export {
  createJsonClient,
  IDEMPOTENCY_KEY_HEADER,
  UpstreamError,
  type CallOptions,
  type JsonClient,
  type JsonClientOptions,
  type UpstreamFailure,
} from './client';
export { IDEMPOTENT_REPLAY_HEADER } from './idempotency';
export { asProblem, fieldProblems, HttpError, validateBody, type FieldProblem } from './problem';
export { createServiceApp, listen, main, runService, type RunningServer, type ServiceAppOptions } from './server';
export { recordFailure } from './spans';
export { inspectTraceHeaders, type IgnoredHeader, type TraceHeaderReport } from './trace-headers';
