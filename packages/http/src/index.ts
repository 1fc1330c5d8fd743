export {
  createJsonClient,
  UpstreamError,
  type JsonClient,
  type JsonClientOptions,
  type UpstreamFailure,
} from './client';
export { fieldProblems, HttpError, validateBody, validateParam, type FieldProblem } from './problem';
export {
  createServiceApp,
  listen,
  LONGEST_STOP_MS,
  main,
  runService,
  type RunningServer,
  type ServiceAppOptions,
} from './server';
export { recordFailure } from '@eshop/tracing/spans';
