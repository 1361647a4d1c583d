// End-to-end security from a Node.js client: esgw-server serving gRPC over TLS with an auth file,
// in front of a 3-node esgw-devcluster (sample data: products, logs), called with @grpc/grpc-js
// using the CA as its trust root and bearer tokens as call credentials. The CA and the server
// certificate (EC P-256, for localhost and 127.0.0.1) and the tokens are made afresh by each run,
// with the openssl CLI, in the run's temporary folder, which is removed when the tests end.
//
// Env: ESGW_BIN_DIR (default <repo>/build/bin), ESGW_PROTO_DIR (default <repo>/proto).
// Run: node --test tests/e2e/node/security.test.mjs   (after `make build node-deps`; needs openssl)

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { grpcCalls, loadProtos } from '../../support/node/grpc_calls.mjs';
import { importDependencies, parsePortFile, Processes } from '../../support/node/processes.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../../..');
const BIN_DIR = process.env.ESGW_BIN_DIR || path.join(REPO, 'build/bin');
const PROTO_DIR = process.env.ESGW_PROTO_DIR || path.join(REPO, 'proto');

const STARTUP_TIMEOUT_MS = 20_000; // each child must write its port file within this
const HEALTHY_TIMEOUT_MS = 10_000; // the gateway must report SERVING within this
const CALL_TIMEOUT_MS = 10_000; // deadline of every RPC
const STOP_TIMEOUT_MS = 5_000; // SIGTERM grace before SIGKILL
const CERTIFICATE_DAYS = 2;

// Tokens as the README advises making them (openssl rand -hex 32); new ones each run.
const READER_TOKEN = randomBytes(32).toString('hex');
const WRITER_TOKEN = randomBytes(32).toString('hex');
const UNKNOWN_TOKEN = randomBytes(32).toString('hex');

// The writer may write only here; the reader may read only products.
const WRITER_PATTERN = 'node-sec-*';

const [grpc, protoLoader] = await importDependencies((name) => import(name), HERE, [
  '@grpc/grpc-js',
  '@grpc/proto-loader',
]);

const processes = new Processes({
  binDir: BIN_DIR,
  startupTimeoutMs: STARTUP_TIMEOUT_MS,
  stopTimeoutMs: STOP_TIMEOUT_MS,
});

const packageDefinition = loadProtos(protoLoader, PROTO_DIR);
const loaded = grpc.loadPackageDefinition(packageDefinition);
const { callOk, callFails, errorInfos, ingest, untilServing } = grpcCalls({
  packageDefinition,
  callTimeoutMs: CALL_TIMEOUT_MS,
});

// ---- certificates, auth file --------------------------------------------------------------

// Runs openssl in `dir` with `command`'s words as its arguments (file names relative to dir).
function openssl(dir, command) {
  try {
    execFileSync('openssl', command.split(/\s+/), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new Error(`openssl ${command} failed: ${err.stderr?.toString() || err.message}`);
  }
}

// An EC P-256 CA and a server certificate it signed, for DNS:localhost and IP:127.0.0.1, both
// valid CERTIFICATE_DAYS days, made in `dir`. Returns the PEM files' paths.
function makeCertificates(dir) {
  fs.mkdirSync(dir, { recursive: true });
  // Our own config, so that neither the system's openssl.cnf nor its defaults decide the
  // extensions.
  fs.writeFileSync(
    path.join(dir, 'openssl.cnf'),
    [
      '[req]',
      'distinguished_name = subject',
      '[subject]',
      '[ca_extensions]',
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash',
      '[server_extensions]',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature',
      'extendedKeyUsage = serverAuth',
      'subjectAltName = DNS:localhost, IP:127.0.0.1',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
      '',
    ].join('\n'),
  );
  const serial = () => `0x${randomBytes(8).toString('hex')}`;
  const run = (command) => openssl(dir, command);
  const sign = `-days ${CERTIFICATE_DAYS} -extfile openssl.cnf`;
  run('genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key');
  run('req -new -config openssl.cnf -key ca.key -subj /CN=esgw-node-test-ca -out ca.csr');
  run(
    `x509 -req -in ca.csr -signkey ca.key ${sign} -extensions ca_extensions ` +
      `-set_serial ${serial()} -out ca.pem`,
  );
  run('genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out server.key');
  run('req -new -config openssl.cnf -key server.key -subj /CN=localhost -out server.csr');
  run(
    `x509 -req -in server.csr -CA ca.pem -CAkey ca.key ${sign} -extensions server_extensions ` +
      `-set_serial ${serial()} -out server.pem`,
  );
  const file = (name) => path.join(dir, name);
  return { ca: file('ca.pem'), cert: file('server.pem'), key: file('server.key') };
}

// What an operator writes into the auth file: printf %s "$token" | sha256sum.
const sha256Hex = (token) => createHash('sha256').update(token).digest('hex');

function writeAuthFile(file) {
  fs.writeFileSync(
    file,
    [
      'principals:',
      '  - name: reader',
      `    token_sha256: ${sha256Hex(READER_TOKEN)}`,
      '    permissions: [read]',
      '    indices: [products]',
      '  - name: writer',
      `    token_sha256: ${sha256Hex(WRITER_TOKEN)}`,
      '    permissions: [read, write]',
      `    indices: ["${WRITER_PATTERN}"]`,
      '',
    ].join('\n'),
  );
  return file;
}

// ---- the tests ----------------------------------------------------------------------------

describe('esgw-server with TLS and an auth file, end to end (Node.js client)', () => {
  let nodes; // "127.0.0.1:port" of each dev cluster node
  let target; // "127.0.0.1:port" of the gateway
  let tlsCredentials; // trusts our CA, sends no token
  const clients = [];
  let reader; // Gateway clients with each principal's token, an unknown one, and none
  let writer;
  let stranger;
  let anonymous;
  let health; // over TLS, with no token

  // The channel option that makes the client check the certificate for "localhost" while it
  // dials 127.0.0.1.
  const CHANNEL_OPTIONS = { 'grpc.ssl_target_name_override': 'localhost' };

  const bearer = (token) =>
    grpc.credentials.createFromMetadataGenerator((_params, callback) => {
      const metadata = new grpc.Metadata();
      metadata.add('authorization', `Bearer ${token}`);
      callback(null, metadata);
    });

  function client(Service, credentials) {
    const made = new Service(target, credentials, CHANNEL_OPTIONS);
    clients.push(made);
    return made;
  }

  const gatewayWithToken = (token) =>
    client(
      loaded.esgw.v1.Gateway,
      grpc.credentials.combineChannelCredentials(tlsCredentials, bearer(token)),
    );

  // The document as the dev cluster itself has it (null when it does not exist), so that a
  // denied write is seen not to have happened whatever esgw answered.
  async function clusterDocument(index, id) {
    const response = await fetch(`http://${nodes[0]}/${index}/_doc/${encodeURIComponent(id)}`);
    const body = await response.json();
    if (response.status === 404) return null;
    assert.equal(response.status, 200, `GET ${index}/_doc/${id}: ${JSON.stringify(body)}`);
    return body;
  }

  before(
    async () => {
      const certificates = makeCertificates(processes.tmpPath('tls'));
      const authFile = writeAuthFile(processes.tmpPath('auth.yaml'));

      nodes = await processes.startDevCluster();
      const serverPortFile = processes.tmpPath('server.port');
      const server = processes.start('esgw-server', [
        '--listen=127.0.0.1:0',
        `--es_nodes=${nodes.map((node) => `http://${node}`).join(',')}`,
        `--port_file=${serverPortFile}`,
        `--tls_cert=${certificates.cert}`,
        `--tls_key=${certificates.key}`,
        `--auth_file=${authFile}`,
      ]);
      const { grpc: port } = await processes.waitForPortFile(server, serverPortFile, parsePortFile);

      target = `127.0.0.1:${port}`;
      tlsCredentials = grpc.credentials.createSsl(fs.readFileSync(certificates.ca));
      reader = gatewayWithToken(READER_TOKEN);
      writer = gatewayWithToken(WRITER_TOKEN);
      stranger = gatewayWithToken(UNKNOWN_TOKEN);
      anonymous = client(loaded.esgw.v1.Gateway, tlsCredentials);
      health = client(loaded.grpc.health.v1.Health, tlsCredentials);

      // The pool may need a moment after startup to see a usable node.
      const last = await untilServing(health, '', HEALTHY_TIMEOUT_MS);
      assert.equal(
        last.response?.status,
        'SERVING',
        `last answer: ${JSON.stringify(last)}; esgw-server's output:\n${server.output}`,
      );
    },
    { timeout: 2 * STARTUP_TIMEOUT_MS + HEALTHY_TIMEOUT_MS + 5_000 },
  );

  after(async () => {
    for (const made of clients) made.close();
    await processes.stopAll(); // also removes the temporary folder: certificates, auth file
  });

  it('the reader searches products over TLS with its token', async () => {
    const response = await callOk(reader, 'Search', {
      indices: ['products'],
      body_json: JSON.stringify({ query: { match_all: {} }, size: 5 }),
    });
    assert.ok(response.hits.length > 0, `no hits: ${JSON.stringify(response)}`);
    for (const hit of response.hits) assert.equal(hit.index, 'products');
    assert.ok(Number(response.total?.value) > 0, `total: ${JSON.stringify(response.total)}`);
  });

  it('a call without a token, or with an unknown one, is UNAUTHENTICATED', async () => {
    const request = { indices: ['products'], body_json: '{"size": 1}' };

    const missing = await callFails(anonymous, 'Search', request, grpc.status.UNAUTHENTICATED);
    assert.match(missing.details, /authorization/);
    assert.match(missing.details, /Bearer <token>/, 'the message should say what to send');
    assert.deepEqual(
      errorInfos(missing).map((info) => info.reason),
      ['MISSING_CREDENTIALS'],
    );

    const unknown = await callFails(stranger, 'Search', request, grpc.status.UNAUTHENTICATED);
    assert.match(unknown.details, /authorization: the bearer token is not known/);
    assert.ok(!unknown.details.includes(UNKNOWN_TOKEN), `the token leaked: ${unknown.details}`);
    assert.deepEqual(
      errorInfos(unknown).map((info) => info.reason),
      ['UNKNOWN_TOKEN'],
    );
  });

  it('the reader searching logs is PERMISSION_DENIED naming logs (INDEX_NOT_ALLOWED)', async () => {
    for (const indices of [['logs'], ['products', 'logs']]) {
      const error = await callFails(
        reader,
        'Search',
        { indices, body_json: '{"size": 1}' },
        grpc.status.PERMISSION_DENIED,
      );
      assert.match(
        error.details,
        /^indices: 'logs' is outside the index patterns of principal 'reader'$/,
        `indices ${indices}`,
      );
      const infos = errorInfos(error);
      assert.equal(infos.length, 1, `ErrorInfo details: ${JSON.stringify(infos)}`);
      assert.equal(infos[0].domain, 'esgw.dev');
      assert.equal(infos[0].reason, 'INDEX_NOT_ALLOWED');
      assert.deepEqual({ ...infos[0].metadata }, { field: 'indices', index: 'logs' });
    }
  });

  it('the reader calling Bulk is PERMISSION_DENIED for the write permission', async () => {
    const error = await callFails(
      reader,
      'Bulk',
      {
        index: 'products',
        refresh: 'REFRESH_TRUE',
        ops: [
          { type: 'OP_TYPE_INDEX', id: 'node-sec-by-reader', source_json: '{"n": 1}', seq: '1' },
        ],
      },
      grpc.status.PERMISSION_DENIED,
    );
    assert.equal(error.details, "principal 'reader' lacks the write permission that Bulk needs");
    const infos = errorInfos(error);
    assert.deepEqual(
      infos.map((info) => [info.reason, { ...info.metadata }]),
      [['PERMISSION_MISSING', { permission: 'write' }]],
    );
    assert.equal(await clusterDocument('products', 'node-sec-by-reader'), null);
  });

  it('a writer Bulk writes the allowed ops; an op outside its patterns fails alone', async () => {
    const op = (seq, index, id) => ({
      type: 'OP_TYPE_INDEX',
      index,
      id,
      source_json: JSON.stringify({ name: `bulk ${seq}` }),
      seq: String(seq),
    });
    const response = await callOk(writer, 'Bulk', {
      refresh: 'REFRESH_TRUE',
      ops: [
        op(1, 'node-sec-a', 'bulk-1'),
        op(2, 'products', 'node-sec-bulk-denied'),
        op(3, 'node-sec-a', 'bulk-3'),
      ],
    });
    assert.equal(response.errors, true);
    assert.deepEqual(
      response.items.map((item) => [item.seq, item.index, item.id, item.status]),
      [
        ['1', 'node-sec-a', 'bulk-1', 201],
        ['2', 'products', 'node-sec-bulk-denied', 403],
        ['3', 'node-sec-a', 'bulk-3', 201],
      ],
    );
    for (const allowed of [response.items[0], response.items[2]]) {
      assert.equal(allowed.result, 'created');
      assert.equal(allowed.error, null, JSON.stringify(allowed.error));
    }
    const denied = response.items[1];
    assert.equal(denied.result, '');
    assert.equal(denied.error?.type, 'security_exception');
    assert.match(
      denied.error.reason,
      /ops\[1\]\.index: 'products' is outside the index patterns of principal 'writer'/,
    );

    const count = await callOk(writer, 'Count', { indices: ['node-sec-a'] });
    assert.equal(Number(count.count), 2);
    assert.equal(await clusterDocument('products', 'node-sec-bulk-denied'), null);
  });

  it('a writer Ingest stream reports the allowed op 201, the denied one 403', async () => {
    const outcome = await ingest(writer, [
      {
        index: 'node-sec-b',
        ops: [
          { type: 'OP_TYPE_INDEX', id: 'ingest-1', source_json: '{"n": 1}', seq: '1' },
          {
            type: 'OP_TYPE_INDEX',
            index: 'logs',
            id: 'node-sec-ingest-denied',
            source_json: '{"n": 2}',
            seq: '2',
          },
        ],
      },
    ]);
    assert.equal(outcome.error, undefined, `Ingest failed: ${outcome.error?.details}`);
    assert.equal(outcome.results.length, 2, JSON.stringify(outcome.results));
    const bySeq = new Map(outcome.results.map((result) => [result.seq, result]));
    assert.deepEqual([...bySeq.keys()].sort(), ['1', '2']);

    const allowed = bySeq.get('1');
    assert.deepEqual([allowed.index, allowed.id, allowed.status], ['node-sec-b', 'ingest-1', 201]);
    const denied = bySeq.get('2');
    assert.deepEqual([denied.index, denied.status], ['logs', 403]);
    assert.equal(denied.error?.type, 'security_exception');
    assert.match(
      denied.error.reason,
      /ops\[1\]\.index: 'logs' is outside the index patterns of principal 'writer'/,
    );

    assert.equal(outcome.summaries, 1);
    assert.equal(Number(outcome.summary.ops), 2);
    assert.equal(Number(outcome.summary.ok), 1);
    assert.equal(Number(outcome.summary.failed), 1);

    assert.notEqual(await clusterDocument('node-sec-b', 'ingest-1'), null);
    assert.equal(await clusterDocument('logs', 'node-sec-ingest-denied'), null);
  });

  it('a plaintext client gets UNAVAILABLE, even for the open Health service', async () => {
    const plaintext = new loaded.grpc.health.v1.Health(target, grpc.credentials.createInsecure());
    try {
      await callFails(plaintext, 'Check', { service: '' }, grpc.status.UNAVAILABLE);
    } finally {
      plaintext.close();
    }
  });

  it('Health answers SERVING over TLS without a token', async () => {
    for (const service of ['', 'esgw.v1.Gateway']) {
      const response = await callOk(health, 'Check', { service });
      assert.equal(response.status, 'SERVING', `service "${service}"`);
    }
  });
});
