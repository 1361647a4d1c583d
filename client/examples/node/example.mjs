// Calling esgw from Node.js: @grpc/grpc-js, with the .proto files loaded at run time by
// @grpc/proto-loader (no generated code). Checks the gateway's health, searches the `products`
// index, writes two documents with Bulk and streams 1,000 more through Ingest.
//
// Env: ESGW_ADDR (gRPC target, default 127.0.0.1:50051), ESGW_TOKEN (optional bearer token),
// ESGW_PROTO_DIR (the folder holding esgw/v1/*.proto, default the repository's proto/).
// Run: node client/examples/node/example.mjs   (after `npm ci` in client/examples/node)
//
// Exits 0 when every step worked; otherwise prints what failed (with the gRPC status code and
// message for a failed call) and exits 1.

import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PROTO_DIR = process.env.ESGW_PROTO_DIR || path.resolve(HERE, '../../../proto');

// Any gRPC target. Against several esgw replicas behind a headless Kubernetes Service, use
// `dns:///esgw-headless.<namespace>.svc.cluster.local:50051`: the DNS resolver returns every
// ready pod and the round_robin policy below spreads calls over all of them (a plain ClusterIP
// Service would pin this client to one replica per connection).
const TARGET = process.env.ESGW_ADDR || '127.0.0.1:50051';
const TOKEN = process.env.ESGW_TOKEN || '';

// Deadlines. Every call gets one: without it a call to a stuck server waits forever.
const UNARY_TIMEOUT_MS = 10_000;
const BULK_TIMEOUT_MS = 30_000;
const INGEST_TIMEOUT_MS = 60_000;

const SCRATCH_INDEX = 'esgw-example-node';
const INGEST_DOCS = 1000;
const INGEST_OPS_PER_MESSAGE = 100;

// round_robin over every address the resolver returns. With a single address (as by default)
// it behaves like the default pick_first.
const SERVICE_CONFIG = { loadBalancingConfig: [{ round_robin: {} }] };

// keepCase: fields keep their .proto names (source_json, not sourceJson). enums: String gives
// and takes enum values by name. longs: Number turns int64/uint64 into numbers, which is exact
// for the counts and seqs of this example (below 2^53). defaults: unset fields read as their
// default ('' or 0) rather than undefined; an unset message field reads as null.
const packageDefinition = protoLoader.loadSync(['esgw/v1/gateway.proto', 'esgw/v1/admin.proto'], {
  includeDirs: [PROTO_DIR],
  keepCase: true,
  enums: String,
  longs: Number,
  defaults: true,
});
const esgw = grpc.loadPackageDefinition(packageDefinition).esgw.v1;

// The metadata of every call: the bearer token, if any. (With TLS you would rather put the token
// in call credentials: grpc.credentials.combineChannelCredentials(grpc.credentials.createSsl(),
// grpc.credentials.createFromMetadataGenerator(...)).)
function callMetadata() {
  const metadata = new grpc.Metadata();
  if (TOKEN) metadata.set('authorization', `Bearer ${TOKEN}`);
  return metadata;
}

// Calls a unary method with a deadline; resolves to its response, rejects with the gRPC error
// (err.code, err.details), tagged with the method's name.
function unary(client, method, request, timeoutMs) {
  return new Promise((resolve, reject) => {
    const options = { deadline: Date.now() + timeoutMs };
    client[method](request, callMetadata(), options, (err, response) => {
      if (err) {
        err.method = method;
        reject(err);
      } else {
        resolve(response);
      }
    });
  });
}

async function printHealth(admin) {
  // GetHealth answers even when esgw has no usable Elasticsearch node: `status` says whether
  // it can serve (GATEWAY_STATUS_SERVING) or not (GATEWAY_STATUS_NOT_SERVING).
  const report = await unary(admin, 'GetHealth', {}, UNARY_TIMEOUT_MS);
  const { status, version, pool, cluster } = report;
  const clusterText = cluster?.error
    ? `cluster health unknown: ${cluster.error}`
    : `cluster ${cluster?.status}`;
  console.log(`health: ${status} (esgw ${version}, ${pool?.alive} nodes alive, ${clusterText})`);
}

async function search(gateway) {
  // The body is Elasticsearch's search body, as JSON text (or as a google.protobuf.Struct in
  // body_struct).
  const response = await unary(
    gateway,
    'Search',
    {
      indices: ['products'],
      body_json: JSON.stringify({ query: { match: { name: 'lamp' } }, size: 5 }),
    },
    UNARY_TIMEOUT_MS,
  );
  const total = response.total
    ? `${response.total.value}${response.total.relation === 'RELATION_GTE' ? '+' : ''}`
    : 'untracked';
  console.log(
    `search: ${response.hits.length} hits of ${total} for name:lamp, ` +
      `took ${response.took_ms} ms, served by ${response.served_by}`,
  );
  for (const hit of response.hits) {
    // source_json holds the document's _source exactly as Elasticsearch returned it.
    const source = JSON.parse(hit.source_json);
    console.log(`  ${hit.id}  ${source.name}`);
  }
}

async function bulk(gateway) {
  const docs = [
    { id: 'example-1', name: 'Example Lamp', price: 19.5 },
    { id: 'example-2', name: 'Example Kettle', price: 34 },
  ];
  const response = await unary(
    gateway,
    'Bulk',
    {
      index: SCRATCH_INDEX,
      // Answer once a refresh has made the documents visible to search.
      refresh: 'REFRESH_WAIT_FOR',
      ops: docs.map(({ id, ...doc }, i) => ({
        type: 'OP_TYPE_INDEX',
        id,
        source_json: JSON.stringify(doc),
        seq: i + 1, // echoed back in the item's result
      })),
    },
    BULK_TIMEOUT_MS,
  );
  // A failed item does not fail the call: check every item. Items come back in request order.
  let ok = 0;
  for (const item of response.items) {
    if (item.error) {
      console.error(
        `bulk: item seq=${item.seq} id=${item.id} failed with ${item.status}: ` +
          `${item.error.type}: ${item.error.reason}`,
      );
    } else {
      ok += 1;
    }
  }
  console.log(`bulk: ${ok} of ${docs.length} items ok in ${SCRATCH_INDEX}`);
  if (ok !== docs.length) throw new Error(`bulk: ${docs.length - ok} items failed`);
}

async function ingest(gateway) {
  const stream = gateway.Ingest(callMetadata(), { deadline: Date.now() + INGEST_TIMEOUT_MS });

  // Reading: each op's final result comes back once, tagged with its seq, in any order; after
  // we half-close, the last message carries the summary.
  const read = new Promise((resolve, reject) => {
    const outcome = { results: 0, failed: [], summary: null };
    stream.on('data', (response) => {
      for (const result of response.results) {
        outcome.results += 1;
        if (result.error) outcome.failed.push(result);
      }
      if (response.summary) outcome.summary = response.summary;
    });
    stream.on('error', (err) => {
      err.method = 'Ingest';
      reject(err);
    });
    stream.on('end', () => resolve(outcome));
  });

  // Writing: several ops per message; the first message also names the default index. When
  // write() returns false, wait for 'drain': esgw holds a bounded amount of ops per stream and
  // gRPC flow control pushes back when it is full.
  const write = async () => {
    for (let first = 1; first <= INGEST_DOCS; first += INGEST_OPS_PER_MESSAGE) {
      const ops = [];
      for (let n = first; n < first + INGEST_OPS_PER_MESSAGE && n <= INGEST_DOCS; n += 1) {
        ops.push({
          type: 'OP_TYPE_INDEX',
          id: `doc-${n}`,
          source_json: JSON.stringify({ n, name: `streamed document ${n}` }),
          seq: n, // unique within the stream
        });
      }
      const message = first === 1 ? { index: SCRATCH_INDEX, ops } : { ops };
      if (!stream.write(message)) await once(stream, 'drain');
    }
    stream.end(); // half-close: no more ops, send the summary
  };

  const [, outcome] = await Promise.all([write(), read]);
  for (const result of outcome.failed.slice(0, 5)) {
    console.error(
      `ingest: op seq=${result.seq} failed with ${result.status}: ${result.error.type}: ` +
        `${result.error.reason}`,
    );
  }
  const { summary } = outcome;
  if (!summary) throw new Error('ingest: the stream ended without a summary');
  console.log(
    `ingest: ops=${summary.ops} ok=${summary.ok} failed=${summary.failed} ` +
      `retried=${summary.retried} bytes=${summary.bytes} elapsed_ms=${summary.elapsed_ms}`,
  );
  if (outcome.results !== INGEST_DOCS || summary.ok !== INGEST_DOCS) {
    throw new Error(`ingest: ${outcome.results} results, ${summary.ok} ok, of ${INGEST_DOCS} ops`);
  }
}

async function main() {
  const gateway = new esgw.Gateway(TARGET, grpc.credentials.createInsecure(), {
    'grpc.service_config': JSON.stringify(SERVICE_CONFIG),
  });
  // One channel (one set of connections) for both services.
  const admin = new esgw.Admin(TARGET, grpc.credentials.createInsecure(), {
    channelOverride: gateway.getChannel(),
  });
  try {
    await printHealth(admin);
    await search(gateway);
    await bulk(gateway);
    await ingest(gateway);
  } catch (err) {
    if (typeof err.code === 'number') {
      // A failed call: its gRPC status, e.g. UNAVAILABLE when esgw cannot be reached or has no
      // Elasticsearch node to use, DEADLINE_EXCEEDED, INVALID_ARGUMENT for a bad request.
      console.error(`error: ${err.method}: ${grpc.status[err.code]} (${err.code}): ${err.details}`);
    } else {
      console.error(`error: ${err.message}`);
    }
    process.exitCode = 1;
  } finally {
    gateway.close();
  }
}

await main();
