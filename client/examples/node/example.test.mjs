// Runs example.mjs as a user would, against esgw-server in front of a 3-node esgw-devcluster
// (both started here on free loopback ports and stopped when the tests end, pass or fail), and
// checks its exit code and output; then against a closed port, where it must fail visibly.
//
// Env: ESGW_BIN_DIR (default <repo>/build/bin), ESGW_PROTO_DIR (default <repo>/proto).
// Run: node --test client/examples/node/example.test.mjs   (after `make build node-deps`)

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import {
  importDependencies,
  parsePortFile,
  Processes,
} from '../../../tests/support/node/processes.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../../..');
const BIN_DIR = process.env.ESGW_BIN_DIR || path.join(REPO, 'build/bin');
const PROTO_DIR = process.env.ESGW_PROTO_DIR || path.join(REPO, 'proto');
const EXAMPLE = path.join(HERE, 'example.mjs');

const STARTUP_TIMEOUT_MS = 20_000; // each child must write its port file within this
const HEALTHY_TIMEOUT_MS = 10_000; // the gateway must report SERVING within this
const EXAMPLE_TIMEOUT_MS = 60_000; // the example must finish within this
const STOP_TIMEOUT_MS = 5_000; // SIGTERM grace before SIGKILL

const [grpc, protoLoader] = await importDependencies((name) => import(name), HERE, [
  '@grpc/grpc-js',
  '@grpc/proto-loader',
]);

// Runs the example with ESGW_ADDR=target; resolves to { code, stdout, stderr }.
function runExample(target) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('ESGW_')),
  );
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [EXAMPLE],
      {
        cwd: HERE,
        env: { ...env, ESGW_ADDR: target, ESGW_PROTO_DIR: PROTO_DIR },
        timeout: EXAMPLE_TIMEOUT_MS,
        killSignal: 'SIGKILL',
      },
      (err, stdout, stderr) => {
        const code = err ? (err.code ?? err.signal) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

// Polls Admin/GetHealth until the gateway reports SERVING, so that the example does not race
// the pool's start.
async function waitUntilServing(target) {
  const definition = protoLoader.loadSync('esgw/v1/admin.proto', {
    includeDirs: [PROTO_DIR],
    keepCase: true,
    enums: String,
  });
  const { Admin } = grpc.loadPackageDefinition(definition).esgw.v1;
  const admin = new Admin(target, grpc.credentials.createInsecure());
  try {
    const until = Date.now() + HEALTHY_TIMEOUT_MS;
    let last;
    while (Date.now() < until) {
      last = await new Promise((resolve) =>
        admin.GetHealth({}, { deadline: Date.now() + 2_000 }, (err, report) =>
          resolve(err ? `${err.code} ${err.details}` : report.status),
        ),
      );
      if (last === 'GATEWAY_STATUS_SERVING') return;
      await sleep(100);
    }
    assert.fail(`esgw did not report SERVING within ${HEALTHY_TIMEOUT_MS} ms; last: ${last}`);
  } finally {
    admin.close();
  }
}

// A loopback port that nothing listens on: bound, then closed again.
async function closedPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('client/examples/node/example.mjs', () => {
  const processes = new Processes({
    binDir: BIN_DIR,
    startupTimeoutMs: STARTUP_TIMEOUT_MS,
    stopTimeoutMs: STOP_TIMEOUT_MS,
  });
  let target;

  before(
    async () => {
      const nodes = await processes.startDevCluster();
      const portFile = processes.tmpPath('server.port');
      const server = processes.start('esgw-server', [
        '--listen=127.0.0.1:0',
        `--es_nodes=${nodes.map((node) => `http://${node}`).join(',')}`,
        `--port_file=${portFile}`,
      ]);
      const { grpc: port } = await processes.waitForPortFile(server, portFile, parsePortFile);
      target = `127.0.0.1:${port}`;
      await waitUntilServing(target);
    },
    { timeout: 2 * STARTUP_TIMEOUT_MS + HEALTHY_TIMEOUT_MS + 5_000 },
  );

  after(() => processes.stopAll());

  it('runs health, search, bulk and ingest against esgw and exits 0', async () => {
    const { code, stdout, stderr } = await runExample(target);
    const output = `exit ${code}\nstdout:\n${stdout}\nstderr:\n${stderr}`;
    assert.equal(code, 0, output);
    assert.equal(stderr, '', output);
    assert.match(stdout, /^health: GATEWAY_STATUS_SERVING \(esgw \S+, 3 nodes alive, /m, output);
    const search = /^search: (\d+) hits of (\d+) for name:lamp/m.exec(stdout);
    assert.ok(search && Number(search[1]) > 0, output);
    const hitLines = stdout.match(/^ {2}p-\d{3} {2}\S.*Lamp.*$/gm) ?? [];
    assert.equal(hitLines.length, Number(search[1]), output);
    assert.match(stdout, /^bulk: 2 of 2 items ok in esgw-example-node$/m, output);
    assert.match(stdout, /^ingest: ops=1000 ok=1000 failed=0 retried=\d+ bytes=\d+ /m, output);
  });

  it('fails with UNAVAILABLE and exit code 1 when esgw is unreachable', async () => {
    const { code, stdout, stderr } = await runExample(`127.0.0.1:${await closedPort()}`);
    const output = `exit ${code}\nstdout:\n${stdout}\nstderr:\n${stderr}`;
    assert.equal(code, 1, output);
    assert.equal(stdout, '', output);
    assert.match(stderr, /^error: GetHealth: UNAVAILABLE \(14\): /m, output);
  });
});
