export { createJsonClient, UpstreamError, type JsonClient } from './client';
export { fieldProblems, HttpError, validateBody, type FieldProblem } from './problem';
export { createServiceApp, listen, main, runService, type RunningServer, type ServiceAppOptions } from './server';
