// A trace backend that takes OTLP over gRPC and over HTTP and throws every span away, run by `pnpm bench:spans` in
// a process of its own, so that the exporters' CPU time is measured without the receiver's. It sends its two
// ports to its parent once it listens.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, ServerCredentials, type ServiceDefinition } from '@grpc/grpc-js';

const EMPTY = Buffer.alloc(0);
// An empty message is a valid ExportTraceServiceResponse: every span accepted.
const TRACE_SERVICE: ServiceDefinition = {
  Export: {
    path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
    requestStream: false,
    responseStream: false,
    requestSerialize: (value: Buffer) => value,
    requestDeserialize: (bytes: Buffer) => bytes,
    responseSerialize: () => EMPTY,
    responseDeserialize: () => EMPTY,
  },
};

const grpc = new Server();
grpc.addService(TRACE_SERVICE, {
  Export: (_call: unknown, done: (error: null, response: Buffer) => void) => done(null, EMPTY),
});
grpc.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, grpcPort) => {
  if (error) throw error;
  const http = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  http.listen(0, '127.0.0.1', () => {
    process.send?.({ grpcPort, httpPort: (http.address() as AddressInfo).port });
  });
});
process.on('disconnect', () => process.exit(0));
