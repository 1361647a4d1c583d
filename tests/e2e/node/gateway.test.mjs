// End-to-end: a Node.js gRPC client (@grpc/grpc-js, protos loaded at run time) against the real
// esgw-server binary in front of a 3-node esgw-devcluster, both started here on free ports and
// stopped when the tests end, pass or fail.
//
// Env: ESGW_BIN_DIR (default <repo>/build/bin), ESGW_PROTO_DIR (default <repo>/proto), and
// ESGW_TEST_ES_URL (http://host:port of a real Elasticsearch to use instead of the dev cluster;
// the sample data is loaded into it first, with esgw-devcluster --load_sample_data_into).
// Run: node --test tests/e2e/node/gateway.test.mjs   (after `make build node-deps`)

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { grpcCalls, loadProtos } from '../../support/node/grpc_calls.mjs';
import { importDependencies, parsePortFile, Processes } from '../../support/node/processes.mjs';
import { structFromJson } from '../../support/node/protojson.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../../..');
const BIN_DIR = process.env.ESGW_BIN_DIR || path.join(REPO, 'build/bin');
const PROTO_DIR = process.env.ESGW_PROTO_DIR || path.join(REPO, 'proto');

const STARTUP_TIMEOUT_MS = 20_000; // each child must write its port file within this
const HEALTHY_TIMEOUT_MS = 10_000; // the gateway must report SERVING within this
const CALL_TIMEOUT_MS = 10_000; // deadline of every RPC
const STOP_TIMEOUT_MS = 5_000; // SIGTERM grace before SIGKILL

// Index the Bulk test writes to; removed afterwards from a real cluster.
const SCRATCH_INDEX = 'esgw-node-e2e';

const [grpc, protoLoader] = await importDependencies((name) => import(name), HERE, [
  '@grpc/grpc-js',
  '@grpc/proto-loader',
]);

// ---- child processes ------------------------------------------------------------------------

const processes = new Processes({
  binDir: BIN_DIR,
  startupTimeoutMs: STARTUP_TIMEOUT_MS,
  stopTimeoutMs: STOP_TIMEOUT_MS,
});

// ---- gRPC helpers ---------------------------------------------------------------------------

const packageDefinition = loadProtos(protoLoader, PROTO_DIR);
const loaded = grpc.loadPackageDefinition(packageDefinition);
const { callOk, callFails, errorInfos, ingest, untilServing } = grpcCalls({
  packageDefinition,
  callTimeoutMs: CALL_TIMEOUT_MS,
});

const toStruct = (object) => structFromJson(packageDefinition, object);

function assertHits(response, nodes) {
  assert.equal(response.hits.length, 5, `hits: ${JSON.stringify(response.hits)}`);
  for (const hit of response.hits) {
    assert.equal(hit.index, 'products');
    assert.ok(hit.id.length > 0, 'hit without id');
    const source = JSON.parse(hit.source_json);
    assert.ok(
      typeof source === 'object' && source !== null && !Array.isArray(source),
      `source is not an object: ${hit.source_json}`,
    );
  }
  assert.ok(Number(response.total?.value) > 0, `total: ${JSON.stringify(response.total)}`);
  if (nodes) {
    assert.ok(
      nodes.includes(response.served_by),
      `served_by ${response.served_by} not in ${nodes}`,
    );
  } else {
    // A real cluster: esgw may dial sniffed publish addresses we cannot know here.
    assert.ok(response.served_by.length > 0, 'served_by is empty');
  }
}

// ---- the tests ------------------------------------------------------------------------------

describe('esgw-server end to end (Node.js client)', () => {
  let nodes; // "127.0.0.1:port" of each dev cluster node; null against a real cluster
  const externalUrl = process.env.ESGW_TEST_ES_URL;
  let gateway;
  let health;
  let admin;

  before(
    async () => {
      let seeds;
      const external = externalUrl;
      if (external) {
        const match = /^http:\/\/([^/@]+?)\/?$/.exec(external);
        assert.ok(match, `ESGW_TEST_ES_URL must be http://host:port, got '${external}'`);
        const loader = processes.start('esgw-devcluster', [`--load_sample_data_into=${match[1]}`]);
        const { code } = await loader.exited;
        assert.equal(code, 0, `loading the sample data failed:\n${loader.output}`);
        nodes = null;
        seeds = `http://${match[1]}`;
      } else {
        nodes = await processes.startDevCluster();
        seeds = nodes.map((node) => `http://${node}`).join(',');
      }

      const serverPortFile = processes.tmpPath('server.port');
      const server = processes.start('esgw-server', [
        '--listen=127.0.0.1:0',
        `--es_nodes=${seeds}`,
        `--port_file=${serverPortFile}`,
      ]);
      const { grpc: port } = await processes.waitForPortFile(server, serverPortFile, parsePortFile);

      const target = `127.0.0.1:${port}`;
      const credentials = grpc.credentials.createInsecure();
      gateway = new loaded.esgw.v1.Gateway(target, credentials);
      health = new loaded.grpc.health.v1.Health(target, credentials);
      admin = new loaded.esgw.v1.Admin(target, credentials);
    },
    { timeout: 2 * STARTUP_TIMEOUT_MS + 5_000 },
  );

  after(async () => {
    if (externalUrl) {
      await fetch(`${externalUrl.replace(/\/$/, '')}/${SCRATCH_INDEX}`, { method: 'DELETE' }).catch(
        () => {},
      );
    }
    gateway?.close();
    health?.close();
    admin?.close();
    await processes.stopAll();
  });

  it('Health reports SERVING for "" and esgw.v1.Gateway', async () => {
    // The pool may need a moment after startup to see a usable node.
    const last = await untilServing(health, '', HEALTHY_TIMEOUT_MS);
    assert.equal(last.response?.status, 'SERVING', `last answer: ${JSON.stringify(last)}`);

    for (const service of ['', 'esgw.v1.Gateway']) {
      const response = await callOk(health, 'Check', { service });
      assert.equal(response.status, 'SERVING', `service "${service}"`);
    }
  });

  it('Admin GetHealth reports the gateway, its pool and the cluster health', async () => {
    const report = await callOk(admin, 'GetHealth', {});
    assert.equal(report.status, 'GATEWAY_STATUS_SERVING');
    assert.ok(report.pool.alive >= 1, `pool: ${JSON.stringify(report.pool)}`);
    assert.match(report.version, /^\d+\.\d+\.\d+$/);
    assert.equal(report.cluster.error, '');
    assert.ok(['green', 'yellow', 'red'].includes(report.cluster.status), report.cluster.status);
    assert.ok(report.cluster.number_of_nodes >= 1, JSON.stringify(report.cluster));
  });

  it('Admin WatchPoolStats streams the pool at the interval asked until cancelled', async () => {
    const stream = admin.WatchPoolStats({ interval: { seconds: 0, nanos: 100_000_000 } });
    const messages = [];
    const started = Date.now();
    const ended = new Promise((resolve) => {
      stream.on('data', (stats) => {
        messages.push(stats);
        if (messages.length === 4) stream.cancel();
      });
      stream.on('error', resolve);
      stream.on('end', () => resolve(null));
    });
    const error = await ended;
    assert.equal(error?.code, grpc.status.CANCELLED, `ended with ${error?.code} ${error?.details}`);
    assert.equal(messages.length, 4);
    for (const stats of messages) assert.ok(stats.nodes.length >= 1);
    // Four messages 100 ms apart: the first at once, the fourth about 300 ms later.
    assert.ok(Date.now() - started >= 250, `took ${Date.now() - started} ms`);
  });

  it('Admin WatchPoolStats refuses an interval under 100 ms as INVALID_ARGUMENT', async () => {
    const stream = admin.WatchPoolStats({ interval: { nanos: 5_000_000 } });
    const error = await new Promise((resolve) => {
      stream.on('data', () => {});
      stream.on('error', resolve);
      stream.on('end', () => resolve(null));
    });
    assert.equal(error?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(error.details, /interval: must be between 100ms and 1h/);
  });

  it('Search with body_json returns hits from products', async () => {
    const response = await callOk(gateway, 'Search', {
      indices: ['products'],
      body_json: JSON.stringify({ query: { match_all: {} }, size: 5 }),
    });
    assertHits(response, nodes);
  });

  it('Search with body_struct returns hits from products', async () => {
    const response = await callOk(gateway, 'Search', {
      indices: ['products'],
      body_struct: toStruct({ query: { match_all: {} }, size: 5 }),
    });
    assertHits(response, nodes);
  });

  it('Search with malformed body_json is INVALID_ARGUMENT naming body_json', async () => {
    const error = await callFails(
      gateway,
      'Search',
      { indices: ['products'], body_json: '{"query": {"match_all": ' },
      grpc.status.INVALID_ARGUMENT,
    );
    assert.match(error.details, /body_json/);
  });

  it('Search on an unknown index is NOT_FOUND with ErrorInfo details', async () => {
    const error = await callFails(
      gateway,
      'Search',
      { indices: ['no_such_index'], body_json: JSON.stringify({ query: { match_all: {} } }) },
      grpc.status.NOT_FOUND,
    );
    const infos = errorInfos(error);
    assert.equal(infos.length, 1, `ErrorInfo details: ${JSON.stringify(infos)}`);
    assert.equal(infos[0].domain, 'esgw.dev');
    assert.equal(infos[0].reason, 'INDEX_NOT_FOUND_EXCEPTION');
  });

  it('Bulk writes each op and reports it in order with its seq', async () => {
    const ops = [1, 2, 3].map((n) => ({
      type: 'OP_TYPE_INDEX',
      id: `node-${n}`,
      source_json: JSON.stringify({ name: `from node ${n}`, n }),
      seq: String(100 + n),
    }));
    const response = await callOk(gateway, 'Bulk', {
      index: SCRATCH_INDEX,
      refresh: 'REFRESH_TRUE',
      ops,
    });
    assert.equal(response.errors, false, JSON.stringify(response.items));
    assert.deepEqual(
      response.items.map((item) => [item.seq, item.id, item.status]),
      [
        ['101', 'node-1', 201],
        ['102', 'node-2', 201],
        ['103', 'node-3', 201],
      ],
    );
    const count = await callOk(gateway, 'Count', { indices: [SCRATCH_INDEX] });
    assert.equal(Number(count.count), 3);
  });

  it('Ingest streams back each op once by seq, then a summary', async () => {
    const op = (n) => ({
      type: 'OP_TYPE_INDEX',
      id: `ingest-${n}`,
      source_json: JSON.stringify({ name: `streamed ${n}`, n }),
      seq: String(n),
    });
    const messages = [
      { index: SCRATCH_INDEX, ops: [1, 2, 3].map(op) },
      { ops: [4, 5].map(op) },
      {
        ops: [
          { type: 'OP_TYPE_INDEX', index: '../_cluster/settings', seq: '6', source_json: '{}' },
        ],
      },
    ];
    const outcome = await ingest(gateway, messages);
    assert.equal(outcome.error, undefined, `Ingest failed: ${outcome.error?.details}`);
    const bySeq = new Map(outcome.results.map((result) => [result.seq, result]));
    assert.equal(outcome.results.length, 6, JSON.stringify(outcome.results));
    assert.deepEqual([...bySeq.keys()].sort(), ['1', '2', '3', '4', '5', '6']);
    for (const seq of ['1', '2', '3', '4', '5']) {
      assert.equal(bySeq.get(seq).status, 201, JSON.stringify(bySeq.get(seq)));
      assert.equal(bySeq.get(seq).id, `ingest-${seq}`);
    }
    assert.equal(bySeq.get('6').status, 400);
    assert.equal(bySeq.get('6').error.type, 'esgw_invalid_op');
    assert.match(bySeq.get('6').error.reason, /ops\[0\]\.index/);
    assert.equal(outcome.summaries, 1);
    assert.equal(Number(outcome.summary.ops), 6);
    assert.equal(Number(outcome.summary.ok), 5);
    assert.equal(Number(outcome.summary.failed), 1);
  });

  it('Ingest that sets the index after the first message ends with INVALID_ARGUMENT', async () => {
    const outcome = await ingest(gateway, [
      { index: SCRATCH_INDEX, ops: [] },
      { index: SCRATCH_INDEX, ops: [] },
    ]);
    assert.ok(outcome.error, 'the stream should fail');
    assert.equal(outcome.error.code, grpc.status.INVALID_ARGUMENT);
    assert.match(outcome.error.details, /index: .*first message/);
  });

  it('Bulk with an invalid op is INVALID_ARGUMENT naming it', async () => {
    const error = await callFails(
      gateway,
      'Bulk',
      { index: SCRATCH_INDEX, ops: [{ type: 'OP_TYPE_DELETE', seq: '1' }] },
      grpc.status.INVALID_ARGUMENT,
    );
    assert.match(error.details, /ops\[0\]\.id/);
  });
});
