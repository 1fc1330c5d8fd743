export {
  createJsonClient,
  UpstreamError,
  type JsonClient,
  type JsonClientOptions,
  type UpstreamFailure,
} from './client';
export { fieldProblems, HttpError, validateBody, validateParam, type FieldProblem } from './problem';
export { createServiceApp, listen, main, runService, type RunningServer, type ServiceAppOptions } from './server';
export { recordFailure } from '@eshop/tracing/spans';
