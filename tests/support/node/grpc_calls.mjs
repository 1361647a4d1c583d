// Calling esgw from @grpc/grpc-js in the Node.js tests: loads esgw's .proto files at run time,
// turns unary calls and Ingest streams into promises that settle with an outcome (never reject),
// and reads the google.rpc.ErrorInfo details of a failed call. Only Node.js built-ins, like
// processes.mjs: each test passes in the npm packages it imported from its own node_modules.

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

// Field names as in the .proto files, enums as their names, 64-bit integers as strings.
export const LOADER_OPTIONS = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

// What the tests call, and the types of the grpc-status-details-bin trailer.
const PROTO_FILES = [
  'esgw/v1/gateway.proto',
  'esgw/v1/admin.proto',
  'grpc/health/v1/health.proto',
  'google/rpc/status.proto',
  'google/rpc/error_details.proto',
];

// The package definition of esgw's API from protoDir, loaded with `protoLoader`
// (@grpc/proto-loader).
export function loadProtos(protoLoader, protoDir) {
  return protoLoader.loadSync(PROTO_FILES, { ...LOADER_OPTIONS, includeDirs: [protoDir] });
}

// The helpers, bound to a package definition from loadProtos() and to the deadline each call
// gets (callTimeoutMs from when it starts).
export function grpcCalls({ packageDefinition, callTimeoutMs }) {
  const deadline = () => new Date(Date.now() + callTimeoutMs);

  // Calls a unary method; resolves to { response } or { error }.
  function call(client, method, request) {
    return new Promise((resolve) => {
      client[method](request, { deadline: deadline() }, (error, response) =>
        resolve(error ? { error } : { response }),
      );
    });
  }

  // Calls a unary method that must succeed; resolves to its response.
  async function callOk(client, method, request) {
    const { error, response } = await call(client, method, request);
    assert.equal(error, undefined, `${method} failed: ${error?.code} ${error?.details}`);
    return response;
  }

  // Calls a unary method that must fail with status `code`; resolves to the error.
  async function callFails(client, method, request, code) {
    const { error, response } = await call(client, method, request);
    assert.ok(error, `${method} succeeded, expected status ${code}: ${JSON.stringify(response)}`);
    assert.equal(error.code, code, `${method}: status ${error.code} (${error.details})`);
    return error;
  }

  // The google.rpc.ErrorInfo details of a failed call, from its grpc-status-details-bin trailer.
  function errorInfos(error) {
    const [bytes] = error.metadata?.get('grpc-status-details-bin') ?? [];
    assert.ok(bytes, `no grpc-status-details-bin trailer on: ${error.code} ${error.details}`);
    const status = packageDefinition['google.rpc.Status'].deserialize(bytes);
    assert.equal(status.code, error.code, 'google.rpc.Status code differs from the RPC status');
    return status.details
      .filter((any) => any.type_url.endsWith('/google.rpc.ErrorInfo'))
      .map((any) => packageDefinition['google.rpc.ErrorInfo'].deserialize(any.value));
  }

  // Runs an Ingest stream: writes messages, half-closes, and resolves to { results, summary,
  // summaries, error } once the stream ends.
  function ingest(client, messages) {
    return new Promise((resolve) => {
      const outcome = { results: [], summary: null, summaries: 0, error: undefined };
      const stream = client.Ingest({ deadline: deadline() });
      stream.on('data', (response) => {
        outcome.results.push(...response.results);
        if (response.summary) {
          outcome.summaries += 1;
          outcome.summary = response.summary;
        }
      });
      stream.on('error', (error) => {
        outcome.error = error;
      });
      stream.on('status', () => resolve(outcome));
      for (const message of messages) stream.write(message);
      stream.end();
    });
  }

  // Asks grpc.health.v1.Health/Check about `service` every 100 ms until it answers SERVING or
  // timeoutMs has passed; resolves to the last outcome ({ response } or { error }), which the
  // caller asserts on.
  async function untilServing(health, service, timeoutMs) {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const last = await call(health, 'Check', { service });
      if (last.response?.status === 'SERVING' || Date.now() >= until) return last;
      await sleep(100);
    }
  }

  return { call, callOk, callFails, errorInfos, ingest, untilServing };
}
