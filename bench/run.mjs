#!/usr/bin/env node
// make bench: esgw next to what people put in front of Elasticsearch instead, in one run on one
// machine, against one fixed-response backend.
//
// The backend is nginx answering like an Elasticsearch node from canned bodies (bench/backend:
// `/`, `_nodes/http`, `_search`, `_bulk`), with keep-alive. Then, one after another, at the same
// concurrency for the same time:
//   direct   wrk straight to the backend: the limit;
//   nginx    wrk through nginx as a reverse proxy with an upstream keep-alive pool: the peer;
//   esgw     esgw-bench through esgw-server (gRPC);
//   h2load   h2load through esgw-server: an independent gRPC load source;
//   floor    esgw-bench against esgw-grpc-floor, a gRPC server that answers Search from a
//            canned answer with no backend: what gRPC alone costs here, under esgw's figures;
// then the same paths at a moderate fixed rate, for the latency each adds; and Ingest
// through esgw against wrk posting the same documents straight to `_bulk` in batches of
// esgw's batch size. For each: requests/s, p50/p99, the middle tier's CPU per request and peak
// RSS (from /proc), and the backend connections it opened (from nginx's stub_status). Writes
// bench/results/latest.{md,json,png} and prints the esgw / nginx ratios.
//
// Usage: node bench/run.mjs [build dir]. Settings (environment):
//   BENCH_SECONDS (10)       length of each run
//   BENCH_CONNECTIONS (64)   requests in flight: wrk connections, esgw-bench calls, h2load
//                            streams (4 connections x 16)
//   BENCH_RATE (1000)        the fixed rate of the latency runs, requests/s
//   BENCH_INGEST_DOCS (200000), BENCH_DOC_BYTES (1024)
//   BENCH_NGINX_WORKERS (auto) worker processes of the nginx proxy
//   BENCH_ESGW_FLAGS         extra esgw-server flags, space-separated
//   BENCH_OUT (bench/results) where the results go
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = path.resolve(process.argv[2] ?? path.join(repo, 'build'));
const bin = path.join(buildDir, 'bin');

function positiveSetting(name, fallback) {
  const raw = process.env[name] ?? String(fallback);
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive integer, got "${raw}"`);
  }
  return value;
}

const settings = {
  seconds: positiveSetting('BENCH_SECONDS', 10),
  connections: positiveSetting('BENCH_CONNECTIONS', 64),
  rate: positiveSetting('BENCH_RATE', 1000),
  ingestDocs: positiveSetting('BENCH_INGEST_DOCS', 200000),
  docBytes: positiveSetting('BENCH_DOC_BYTES', 1024),
  nginxWorkers: process.env.BENCH_NGINX_WORKERS ?? 'auto',
  esgwFlags: (process.env.BENCH_ESGW_FLAGS ?? '').split(/\s+/).filter(Boolean),
  out: path.resolve(process.env.BENCH_OUT ?? path.join(repo, 'bench', 'results')),
};
// esgw cuts Ingest into _bulk requests of this many ops (its --bulk_max_ops), and the direct
// _bulk runs post batches of the same size, so both sides send the same requests.
const kBatchOps = 1000;
// Ingest streams, and wrk connections of the direct _bulk run.
const kWriters = 2;
// h2load's connections; each carries connections / kH2Connections streams.
const kH2Connections = 4;
if (settings.connections % kH2Connections !== 0) {
  throw new Error(`BENCH_CONNECTIONS must be a multiple of ${kH2Connections}`);
}
if (!/^(auto|[1-9][0-9]*)$/.test(settings.nginxWorkers)) {
  throw new Error(`BENCH_NGINX_WORKERS must be auto or a positive integer`);
}
if (settings.ingestDocs % (kBatchOps * kWriters) !== 0) {
  throw new Error(`BENCH_INGEST_DOCS must be a multiple of ${kBatchOps * kWriters}`);
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'esgw-bench-'));
// nginx's workers drop root: let them read the canned bodies.
fs.chmodSync(work, 0o755);
const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

// ---- processes ----

const children = [];
function start(name, command, args) {
  const log = fs.openSync(path.join(work, `${name}.log`), 'a');
  const child = spawn(command, args, { stdio: ['ignore', log, log] });
  child.name = name;
  child.exited = false;
  child.on('exit', () => {
    child.exited = true;
  });
  children.push(child);
  return child;
}
function stopAll() {
  for (const child of children) if (!child.exited) child.kill('SIGTERM');
}
process.on('exit', stopAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopAll();
    process.exit(130);
  });
}

// Runs a command to its end; its standard output, or an error with the tail of its output.
function run(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0 || (code === 1 && command.endsWith('esgw-bench'))) resolve(out);
      else
        reject(new Error(`${path.basename(command)} exited ${code}: ${(err || out).slice(-2000)}`));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what, check, timeoutMs = 15000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch {
      // not yet
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function httpGet(port, target) {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path: target, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    request.on('error', reject);
    request.setTimeout(5000, () => request.destroy(new Error(`GET ${target}: timeout`)));
  });
}

// ---- /proc ----

function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}
function memoryKib(pid, field) {
  const match = fs
    .readFileSync(`/proc/${pid}/status`, 'utf8')
    .match(new RegExp(`${field}:\\s+(\\d+)`));
  return match ? Number(match[1]) : 0;
}
// The process and its children (nginx: the master and its workers).
function family(pid) {
  let kids = [];
  try {
    kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/);
  } catch {
    // no children file: just the process
  }
  return [pid, ...kids.filter(Boolean).map(Number)];
}
// Resets the peak RSS (VmHWM) so that each run reports its own; false when not allowed.
function resetPeak(pids) {
  try {
    for (const pid of pids) fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}
// CPU and memory of a middle tier over one run.
function meter(pid) {
  if (!pid) return { stop: () => ({ cpuSeconds: null, peakKib: null }) };
  const pids = family(pid);
  const peakReset = resetPeak(pids);
  const cpuBefore = pids.reduce((sum, p) => sum + cpuSeconds(p), 0);
  return {
    stop: () => ({
      cpuSeconds: pids.reduce((sum, p) => sum + cpuSeconds(p), 0) - cpuBefore,
      peakKib: pids.reduce((sum, p) => sum + memoryKib(p, 'VmHWM'), 0),
      peakReset,
    }),
  };
}

// ---- the backend ----

function nginxConfig(name, workers, serverBlock, extraHttp = '') {
  const prefix = path.join(work, name);
  fs.mkdirSync(prefix, { recursive: true });
  fs.chmodSync(prefix, 0o755);
  const conf = path.join(prefix, 'nginx.conf');
  fs.writeFileSync(
    conf,
    `worker_processes ${workers};
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; multi_accept on; }
http {
  access_log off;
  types {}
  default_type application/json;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  client_max_body_size 256m;
  client_body_buffer_size 8m;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
${extraHttp}
  server {
${serverBlock}
  }
}
`,
  );
  return { conf, prefix };
}

async function startNginx(name, config) {
  const child = start(name, 'nginx', [
    '-p',
    config.prefix,
    '-c',
    config.conf,
    '-e',
    path.join(config.prefix, 'error.log'),
  ]);
  return child;
}

async function stubStatusAccepts(port) {
  const { status, body } = await httpGet(port, '/nginx_status');
  if (status !== 200) throw new Error(`stub_status answered ${status}`);
  // "Active connections: N \nserver accepts handled requests\n A H R \n..."
  const counts = body.split('\n')[2].trim().split(/\s+/).map(Number);
  return counts[0];
}

function bulkBody(docs) {
  const pad = 'x'.repeat(Math.max(0, settings.docBytes - 60));
  let body = '';
  for (let n = 0; n < docs; ++n) {
    body += `{"index":{"_index":"esgw-bench","_id":"i-${n}"}}\n`;
    body += `{"n":${n},"title":"benchmark document ${n}","pad":"${pad}"}\n`;
  }
  return body;
}

function bulkResponse(docs) {
  const items = [];
  for (let n = 0; n < docs; ++n) {
    items.push(
      `{"index":{"_index":"esgw-bench","_id":"i-${n}","_version":1,"result":"created",` +
        `"_shards":{"total":1,"successful":1,"failed":0},"_seq_no":${n},"_primary_term":1,"status":201}}`,
    );
  }
  return `{"errors":false,"took":3,"items":[${items.join(',')}]}`;
}

// ---- load tools ----

function wrkScript(name, bodyFile, contentType, delayMs) {
  const script = path.join(work, `${name}.lua`);
  let lua = `wrk.method = "POST"\nwrk.headers["Content-Type"] = "${contentType}"\n`;
  lua += `local f = assert(io.open(${JSON.stringify(bodyFile)}, "rb"))\nwrk.body = f:read("*a")\nf:close()\n`;
  if (delayMs) lua += `function delay() return ${delayMs} end\n`;
  fs.writeFileSync(script, lua);
  return script;
}

function wrkMicros(text) {
  const match = text.match(/^([\d.]+)(us|ms|s)$/);
  if (!match) throw new Error(`wrk: cannot read the latency "${text}"`);
  return Number(match[1]) * { us: 1, ms: 1e3, s: 1e6 }[match[2]];
}

async function wrk(url, script, connections, seconds) {
  const out = await run('wrk', [
    '-t1',
    `-c${connections}`,
    `-d${seconds}s`,
    '--latency',
    '-s',
    script,
    url,
  ]);
  const requests = Number(out.match(/(\d+) requests in/)[1]);
  const non2xx = Number(out.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0);
  const socket = out.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  return {
    requests,
    perSecond: Number(out.match(/Requests\/sec:\s+([\d.]+)/)[1]),
    p50us: wrkMicros(out.match(/ 50%\s+(\S+)/)[1]),
    p99us: wrkMicros(out.match(/ 99%\s+(\S+)/)[1]),
    errors: non2xx + socketErrors,
  };
}

async function esgwBench(addr, serverPid, args) {
  const out = await run(path.join(bin, 'esgw-bench'), [
    `--addr=${addr}`,
    `--server_pid=${serverPid}`,
    '--output=json',
    ...args,
  ]);
  return JSON.parse(out.trim().split('\n').pop());
}

// A Search run's row from esgw-bench's JSON.
function searchRow(r) {
  return {
    requests: r.calls,
    perSecond: r.ops_per_second,
    p50us: r.latency_us.p50,
    p99us: r.latency_us.p99,
    p999us: r.latency_us.p999,
    errors: r.errors,
    cpuByThread: r.server?.cpu_us_per_op_by_thread,
  };
}

function percentile(sorted, q) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

// A fixed number of requests rather than h2load's -D: at the end of a timed run h2load resets the
// streams still open, which esgw (rightly) answers by aborting their HTTP exchanges and closing
// those backend connections, and which would count as errors and reconnects of the tool's making.
async function h2load(url, frameFile, requests) {
  const log = path.join(work, 'h2load-requests.tsv');
  const out = await run('h2load', [
    '-t1',
    `-c${kH2Connections}`,
    `-m${settings.connections / kH2Connections}`,
    `-n${requests}`,
    '-d',
    frameFile,
    '-H',
    'content-type: application/grpc',
    '-H',
    'te: trailers',
    `--log-file=${log}`,
    url,
  ]);
  const counts = out.match(
    /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/,
  );
  const finished = out.match(/finished in ([\d.]+)(ms|s), ([\d.]+) req\/s/);
  if (!counts || !finished) throw new Error(`h2load: unexpected output: ${out.slice(-1000)}`);
  const durations = fs
    .readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((line) => Number(line.split('\t')[2]))
    .filter((n) => Number.isFinite(n))
    .sort((a, b) => a - b);
  return {
    requests: Number(counts[4]),
    perSecond: Number(finished[3]),
    p50us: percentile(durations, 0.5),
    p99us: percentile(durations, 0.99),
    errors: Number(counts[5]) + Number(counts[6]) + Number(counts[7]),
  };
}

// gRPC calls esgw answered for one method, by code, from its /metrics.
async function grpcHandled(metricsPort, method) {
  const { body } = await httpGet(metricsPort, '/metrics');
  const codes = {};
  const pattern = new RegExp(
    `^grpc_server_handled_total\\{[^}]*grpc_method="${method}"[^}]*grpc_code="(\\w+)"[^}]*\\} (\\d+)`,
    'gm',
  );
  for (const match of body.matchAll(pattern))
    codes[match[1]] = (codes[match[1]] ?? 0) + Number(match[2]);
  return codes;
}

// ---- the runs ----

async function main() {
  for (const tool of ['nginx', 'wrk', 'h2load', 'gnuplot']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      throw new Error(`${tool} is not installed: run scripts/deps.sh bench`);
    }
  }
  for (const program of ['esgw-server', 'esgw-bench', 'esgw-grpc-floor']) {
    if (!fs.existsSync(path.join(bin, program)))
      throw new Error(`${path.join(bin, program)} is missing: build first`);
  }
  const startedAt = new Date();
  const ports = {
    backend: await freePort(),
    proxy: await freePort(),
    metrics: 0, // esgw's, from its port file
  };

  // The backend's canned bodies, one file each, served for any method.
  const files = path.join(work, 'files');
  fs.mkdirSync(files);
  fs.copyFileSync(path.join(repo, 'bench/backend/search.json'), path.join(files, 'search.json'));
  fs.copyFileSync(path.join(repo, 'bench/backend/root.json'), path.join(files, 'root.json'));
  fs.writeFileSync(
    path.join(files, 'nodes.json'),
    JSON.stringify({
      _nodes: { total: 1, successful: 1, failed: 0 },
      cluster_name: 'esgw-bench',
      nodes: {
        b3nchN0deId000000000: {
          name: 'bench-backend',
          transport_address: '127.0.0.1:9300',
          host: '127.0.0.1',
          ip: '127.0.0.1',
          version: '8.15.0',
          roles: ['data', 'ingest', 'master'],
          http: {
            bound_address: [`127.0.0.1:${ports.backend}`],
            publish_address: `127.0.0.1:${ports.backend}`,
            max_content_length_in_bytes: 104857600,
          },
        },
      },
    }),
  );
  fs.writeFileSync(path.join(files, 'bulk.json'), bulkResponse(kBatchOps));
  for (const file of fs.readdirSync(files)) fs.chmodSync(path.join(files, file), 0o644);
  fs.chmodSync(files, 0o755);
  // A canned answer for any method: `return 405` hands the request to error_page, which serves
  // the file as a GET with status 200 (nginx's static files refuse POST themselves).
  const canned = (file) => `error_page 405 =200 /files/${file}; return 405;`;
  const backend = nginxConfig(
    'backend',
    1,
    `    listen 127.0.0.1:${ports.backend} backlog=4096;
    add_header X-Elastic-Product Elasticsearch always;
    location = / { ${canned('root.json')} }
    location = /_nodes/http { ${canned('nodes.json')} }
    location ~ /_search$ { ${canned('search.json')} }
    location ~ /_bulk$ { ${canned('bulk.json')} }
    location /files/ { internal; alias ${files}/; }
    location = /nginx_status { stub_status; }`,
  );
  const backendProcess = await startNginx('backend', backend);
  await waitFor(
    'the nginx backend',
    async () => (await httpGet(ports.backend, '/')).status === 200,
  );

  const proxy = nginxConfig(
    'proxy',
    settings.nginxWorkers,
    `    listen 127.0.0.1:${ports.proxy} backlog=4096;
    location / {
      proxy_pass http://elasticsearch;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffer_size 16k;
      proxy_buffers 32 16k;
      proxy_max_temp_file_size 0;
    }`,
    `  upstream elasticsearch { server 127.0.0.1:${ports.backend}; keepalive 64; }`,
  );
  const proxyProcess = await startNginx('proxy', proxy);
  await waitFor('the nginx proxy', async () => (await httpGet(ports.proxy, '/')).status === 200);

  const portFile = path.join(work, 'esgw.port');
  const esgwFlags = [
    '--listen=127.0.0.1:0',
    `--port_file=${portFile}`,
    `--es_nodes=http://127.0.0.1:${ports.backend}`,
    '--metrics_listen=127.0.0.1:0',
    '--log_level=warning',
    // Only whole batches of kBatchOps, so that the canned _bulk answer fits every request.
    `--bulk_max_ops=${kBatchOps}`,
    '--ingest_flush_interval=60s',
    // The direct _bulk run posts uncompressed bodies; esgw's default gzips bodies of 64 KiB and
    // more, which costs CPU that only pays off on a real network.
    '--gzip_min_bytes=0',
    ...settings.esgwFlags,
  ];
  const esgwProcess = start('esgw', path.join(bin, 'esgw-server'), esgwFlags);
  // The port file: the gRPC port, then the /metrics port.
  const [esgwPort, metricsPort] = await waitFor('esgw-server', () => {
    const lines = fs.existsSync(portFile)
      ? fs.readFileSync(portFile, 'utf8').trim().split('\n')
      : [];
    return lines.length === 2 && lines;
  });
  ports.metrics = Number(metricsPort);
  const esgwAddr = `127.0.0.1:${esgwPort}`;
  await waitFor(
    'esgw /readyz',
    async () => (await httpGet(ports.metrics, '/readyz')).status === 200,
  );
  await sleep(1000);
  const esgwIdleRssKib = memoryKib(esgwProcess.pid, 'VmRSS');

  // The floor: the same 10-hit answer, pre-parsed, with no backend behind it.
  const floorPortFile = path.join(work, 'floor.port');
  const floorProcess = start('floor', path.join(bin, 'esgw-grpc-floor'), [
    '--listen=127.0.0.1:0',
    `--port_file=${floorPortFile}`,
    `--search_body=${path.join(files, 'search.json')}`,
  ]);
  const floorPort = await waitFor(
    'esgw-grpc-floor',
    () => fs.existsSync(floorPortFile) && fs.readFileSync(floorPortFile, 'utf8').trim(),
  );
  const floorAddr = `127.0.0.1:${floorPort}`;

  const sec = settings.seconds;
  const conns = settings.connections;
  const searchBody = path.join(files, 'search-request.json');
  fs.writeFileSync(searchBody, '{"query":{"match_all":{}},"size":10}');
  const searchScript = wrkScript('search', searchBody, 'application/json');
  const pacedScript = wrkScript(
    'search-paced',
    searchBody,
    'application/json',
    Math.max(1, Math.round((4 * 1000) / settings.rate)),
  );
  const frame = path.join(work, 'search.grpc');
  await run(path.join(bin, 'esgw-bench'), [`--write_request=${frame}`]);

  const results = [];
  // One run: the middle tier's meter and the backend's accepted connections around it.
  async function measure(row, middlePid, load) {
    process.stdout.write(`bench: ${row.name} ...`);
    const acceptsBefore = await stubStatusAccepts(ports.backend);
    const m = meter(middlePid);
    const load_ = await load();
    const usage = m.stop();
    // The "after" stub_status request is itself one accepted connection.
    const opened = (await stubStatusAccepts(ports.backend)) - acceptsBefore - 1;
    const result = {
      ...row,
      ...load_,
      backendConnectionsOpened: opened,
      cpuUsPerRequest: usage.cpuSeconds === null ? null : (usage.cpuSeconds * 1e6) / load_.requests,
      peakRssMib: usage.peakKib === null ? null : usage.peakKib / 1024,
      peakSinceStart: usage.peakReset === false,
    };
    results.push(result);
    console.log(
      ` ${Math.round(result.perSecond)}/s, p50 ${(result.p50us / 1000).toFixed(2)} ms, p99 ${(result.p99us / 1000).toFixed(2)} ms` +
        (result.cpuUsPerRequest === null
          ? ''
          : `, ${result.cpuUsPerRequest.toFixed(1)} us CPU/req`) +
        `, ${opened} backend connections, ${result.errors} errors`,
    );
    await sleep(500);
    return result;
  }

  // esgw-bench's Search load: closed loop at the runs' concurrency, or open loop at the rate.
  const closedLoop = [
    `--duration=${sec}s`,
    `--concurrency=${conns}`,
    `--channels=${kH2Connections}`,
  ];
  const paced = [`--duration=${sec}s`, `--rate=${settings.rate}`, `--concurrency=${conns}`];
  const searchLoad = async (addr, pid, args) => searchRow(await esgwBench(addr, pid, args));
  const searchUrl = (port) => `http://127.0.0.1:${port}/products/_search`;
  const direct = await measure(
    { name: 'direct', kind: 'search', tool: 'wrk', path: 'wrk -> backend' },
    null,
    () => wrk(searchUrl(ports.backend), searchScript, conns, sec),
  );
  const viaNginx = await measure(
    { name: 'nginx', kind: 'search', tool: 'wrk', path: 'wrk -> nginx proxy -> backend' },
    proxyProcess.pid,
    () => wrk(searchUrl(ports.proxy), searchScript, conns, sec),
  );
  const viaEsgw = await measure(
    { name: 'esgw', kind: 'search', tool: 'esgw-bench', path: 'esgw-bench -> esgw -> backend' },
    esgwProcess.pid,
    () => searchLoad(esgwAddr, esgwProcess.pid, closedLoop),
  );
  const viaH2load = await measure(
    { name: 'h2load', kind: 'search', tool: 'h2load', path: 'h2load -> esgw -> backend' },
    esgwProcess.pid,
    async () => {
      const before = await grpcHandled(ports.metrics, 'Search');
      // As many requests as esgw-bench completed in the same time, so the run lasts about as long.
      const requests = Math.max(1000, Math.round(viaEsgw.perSecond * sec));
      const r = await h2load(`http://${esgwAddr}/esgw.v1.Gateway/Search`, frame, requests);
      const after = await grpcHandled(ports.metrics, 'Search');
      // h2load counts HTTP 200s; a gRPC error is a 200 too, so count esgw's non-OK answers.
      const notOk = Object.entries(after).reduce(
        (sum, [code, n]) => sum + (code === 'OK' ? 0 : n - (before[code] ?? 0)),
        0,
      );
      return { ...r, errors: r.errors + notOk, grpcOk: (after.OK ?? 0) - (before.OK ?? 0) };
    },
  );

  const viaFloor = await measure(
    {
      name: 'gRPC floor',
      kind: 'floor',
      tool: 'esgw-bench',
      path: 'esgw-bench -> esgw-grpc-floor (canned answer, no backend)',
    },
    floorProcess.pid,
    () => searchLoad(floorAddr, floorProcess.pid, closedLoop),
  );

  const rateNote = `${settings.rate}/s`;
  const pacedConnections = 4;
  const directPaced = await measure(
    {
      name: 'direct @rate',
      kind: 'latency',
      tool: 'wrk',
      path: `wrk -> backend, about ${rateNote}`,
    },
    null,
    () => wrk(searchUrl(ports.backend), pacedScript, pacedConnections, sec),
  );
  const nginxPaced = await measure(
    {
      name: 'nginx @rate',
      kind: 'latency',
      tool: 'wrk',
      path: `wrk -> nginx -> backend, about ${rateNote}`,
    },
    proxyProcess.pid,
    () => wrk(searchUrl(ports.proxy), pacedScript, pacedConnections, sec),
  );
  const esgwPaced = await measure(
    {
      name: 'esgw @rate',
      kind: 'latency',
      tool: 'esgw-bench',
      path: `esgw-bench -> esgw -> backend, ${rateNote} open loop`,
    },
    esgwProcess.pid,
    () => searchLoad(esgwAddr, esgwProcess.pid, paced),
  );

  const floorPaced = await measure(
    {
      name: 'gRPC floor @rate',
      kind: 'floor',
      tool: 'esgw-bench',
      path: `esgw-bench -> esgw-grpc-floor, ${rateNote} open loop`,
    },
    floorProcess.pid,
    () => searchLoad(floorAddr, floorProcess.pid, paced),
  );

  // Ingest: documents per second, esgw's stream against _bulk posted straight to the backend.
  const ndjson = path.join(files, 'bulk-request.ndjson');
  fs.writeFileSync(ndjson, bulkBody(kBatchOps));
  const bulkScript = wrkScript('bulk', ndjson, 'application/x-ndjson');
  const directBulk = await measure(
    {
      name: 'direct _bulk',
      kind: 'ingest',
      tool: 'wrk',
      path: `wrk -> backend _bulk, ${kBatchOps} docs a request`,
    },
    null,
    async () => {
      const r = await wrk(`http://127.0.0.1:${ports.backend}/_bulk`, bulkScript, kWriters, sec);
      return { ...r, docsPerSecond: r.perSecond * kBatchOps };
    },
  );
  const esgwIngest = await measure(
    {
      name: 'esgw Ingest',
      kind: 'ingest',
      tool: 'esgw-bench',
      path: `esgw-bench Ingest -> esgw -> backend _bulk`,
    },
    esgwProcess.pid,
    async () => {
      const r = await esgwBench(esgwAddr, esgwProcess.pid, [
        '--workload=ingest',
        `--docs=${settings.ingestDocs}`,
        `--doc_bytes=${settings.docBytes}`,
        `--concurrency=${kWriters}`,
      ]);
      // Requests here are _bulk requests (batches), for CPU per request comparable to direct.
      return {
        requests: r.ops / kBatchOps,
        perSecond: r.ops_per_second / kBatchOps,
        docsPerSecond: r.ops_per_second,
        p50us: r.latency_us.p50,
        p99us: r.latency_us.p99,
        errors: r.errors + r.failed_items,
      };
    },
  );

  const esgwTotalConnections = (await httpGet(ports.metrics, '/metrics')).body
    .split('\n')
    .filter((line) => line.startsWith('esgw_node_connections_opened_total{'))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
  const poolSize = (() => {
    const flag = esgwFlags.find((f) => f.startsWith('--max_connections_per_node='));
    return flag ? Number(flag.split('=')[1]) : 64;
  })();
  stopAll();

  const ratio = (a, b) => (b ? a / b : NaN);
  const summary = {
    date: startedAt.toISOString(),
    machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release().split('.').slice(0, 2).join('.')}`,
    settings: {
      ...settings,
      out: undefined,
      batchOps: kBatchOps,
      writers: kWriters,
      h2Connections: kH2Connections,
    },
    esgwIdleRssMib: esgwIdleRssKib / 1024,
    esgwConnectionsOpenedTotal: esgwTotalConnections,
    esgwPoolSize: poolSize,
    ratios: {
      searchThroughputEsgwOverNginx: ratio(viaEsgw.perSecond, viaNginx.perSecond),
      searchThroughputH2loadOverNginx: ratio(viaH2load.perSecond, viaNginx.perSecond),
      cpuPerSearchEsgwOverNginx: ratio(viaEsgw.cpuUsPerRequest, viaNginx.cpuUsPerRequest),
      addedP50UsAtRateEsgw: esgwPaced.p50us - directPaced.p50us,
      addedP50UsAtRateNginx: nginxPaced.p50us - directPaced.p50us,
      floorP50UsAtRate: floorPaced.p50us,
      floorP50OverDirectUsAtRate: floorPaced.p50us - directPaced.p50us,
      searchThroughputFloorOverNginx: ratio(viaFloor.perSecond, viaNginx.perSecond),
      cpuPerSearchFloorOverNginx: ratio(viaFloor.cpuUsPerRequest, viaNginx.cpuUsPerRequest),
      ingestEsgwOverDirect: ratio(esgwIngest.docsPerSecond, directBulk.docsPerSecond),
    },
    runs: results,
  };
  writeResults(summary);
  const r = summary.ratios;
  console.log(
    `bench: esgw / nginx: Search throughput ${r.searchThroughputEsgwOverNginx.toFixed(2)} (h2load load: ${r.searchThroughputH2loadOverNginx.toFixed(2)}), CPU per Search ${r.cpuPerSearchEsgwOverNginx.toFixed(2)}`,
  );
  console.log(
    `bench: added p50 at ${rateNote}: esgw ${Math.round(r.addedP50UsAtRateEsgw)} us, nginx ${Math.round(r.addedP50UsAtRateNginx)} us; gRPC floor p50 ${Math.round(r.floorP50UsAtRate)} us`,
  );
  console.log(
    `bench: Ingest / direct _bulk: ${r.ingestEsgwOverDirect.toFixed(2)} (${Math.round(esgwIngest.docsPerSecond)} vs ${Math.round(directBulk.docsPerSecond)} docs/s)`,
  );
  console.log(
    `bench: esgw opened ${esgwTotalConnections} backend connections in all (pool size ${poolSize}); idle RSS ${summary.esgwIdleRssMib.toFixed(1)} MiB`,
  );
  console.log(
    `bench: wrote ${path.relative(process.cwd(), path.join(settings.out, 'latest.md'))} and latest.png`,
  );
  const failed = results.filter((row) => row.errors > 0);
  if (failed.length > 0) {
    throw new Error(
      `errors in: ${failed.map((row) => `${row.name} (${row.errors})`).join(', ')}; logs in ${work}`,
    );
  }
  fs.rmSync(work, { recursive: true, force: true });
  void backendProcess;
}

function fixed(value, digits) {
  return value === null || value === undefined || Number.isNaN(value) ? '—' : value.toFixed(digits);
}

function writeResults(summary) {
  fs.mkdirSync(settings.out, { recursive: true });
  fs.writeFileSync(path.join(settings.out, 'latest.json'), JSON.stringify(summary, null, 2) + '\n');
  const rows = summary.runs.map(
    (row) =>
      `| ${row.name} | ${row.path} | ${fixed(row.docsPerSecond ?? row.perSecond, 0)}${row.docsPerSecond ? ' docs/s' : ''} | ` +
      `${fixed(row.p50us / 1000, 2)} | ${fixed(row.p99us / 1000, 2)} | ${fixed(row.cpuUsPerRequest, 1)} | ` +
      `${row.backendConnectionsOpened} | ${fixed(row.peakRssMib, 1)} | ${row.errors} |`,
  );
  const r = summary.ratios;
  const s = summary.settings;
  const md = `# esgw bench: latest results

${summary.date.slice(0, 10)}; ${summary.machine}. The backend, the proxy, esgw and the load tools
all run on this one machine. Each run lasts ${s.seconds} s with ${s.connections} requests in
flight: wrk on ${s.connections} connections, esgw-bench with ${s.connections} calls over
${s.h2Connections} channels, h2load on ${s.h2Connections} connections x ${s.connections / s.h2Connections} streams. The latency
runs go at ${s.rate}/s. Ingest sends ${s.ingestDocs} docs of ${s.docBytes} bytes over ${s.writers}
streams, against wrk posting ${s.batchOps}-doc _bulk requests on ${s.writers} connections. CPU
and peak RSS are the middle tier's (esgw-server, or the nginx proxy's master and workers). CPU
per request is per Search, or per ${s.batchOps}-doc _bulk request for Ingest.

| run | path | req/s | p50 ms | p99 ms | CPU µs/req | backend conns opened | peak RSS MiB | errors |
|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

| ratio | value | target |
|---|---|---|
| Search throughput esgw / nginx | ${fixed(r.searchThroughputEsgwOverNginx, 2)} (h2load as the load: ${fixed(r.searchThroughputH2loadOverNginx, 2)}) | ≥ 0.5, goal ≥ 1.0 |
| CPU per Search esgw / nginx | ${fixed(r.cpuPerSearchEsgwOverNginx, 2)} | ≤ 2, goal ≤ 1 |
| added p50 over direct at ${s.rate}/s | esgw ${fixed(r.addedP50UsAtRateEsgw, 0)} µs, nginx ${fixed(r.addedP50UsAtRateNginx, 0)} µs | ≤ 150 µs |
| Ingest / direct _bulk docs/s | ${fixed(r.ingestEsgwOverDirect, 2)} | ≥ 0.9 |
| esgw backend connections opened, whole run | ${summary.esgwConnectionsOpenedTotal} (pool size ${summary.esgwPoolSize}) | ≤ pool size |
| esgw idle RSS | ${fixed(summary.esgwIdleRssMib, 1)} MiB | ≤ 30 MB |
| gRPC floor (no backend, no work): throughput / nginx, CPU / nginx, p50 over direct at ${s.rate}/s | ${fixed(r.searchThroughputFloorOverNginx, 2)}, ${fixed(r.cpuPerSearchFloorOverNginx, 2)}, ${fixed(r.floorP50OverDirectUsAtRate, 0)} µs | — (context) |

The gRPC floor rows are esgw-bench against esgw-grpc-floor, a gRPC server on the same library
and API as esgw that answers Search with the same 10 hits, pre-parsed, without a backend: what
gRPC alone costs on this machine with this client. Latency at a fixed rate counts, for wrk, from
each request's send and, for esgw-bench, from its scheduled start, or from when the kernel woke
esgw-bench's pacing thread if that was later.

![throughput and CPU per Search](latest.png)
`;
  fs.writeFileSync(path.join(settings.out, 'latest.md'), md);

  const searches = summary.runs.filter((row) => row.kind === 'search' || row.name === 'gRPC floor');
  const data = path.join(work, 'chart.tsv');
  fs.writeFileSync(
    data,
    searches.map((row) => `${row.name}\t${row.perSecond}\t${row.cpuUsPerRequest ?? 0}`).join('\n') +
      '\n',
  );
  const plot = `set terminal pngcairo size 1000,420 font "sans,10"
set output ${JSON.stringify(path.join(settings.out, 'latest.png'))}
set datafile separator "\\t"
set multiplot layout 1,2 title ${JSON.stringify(`esgw bench ${summary.date.slice(0, 10)}: Search, ${s.connections} in flight, ${summary.machine.split(',')[0]}`)} noenhanced
set style data histograms
set style histogram clustered gap 0.6
set style fill solid 0.85 border -1
set grid ytics
set yrange [0:*]
set xtics noenhanced
set title "requests per second"
plot ${JSON.stringify(data)} using 2:xtic(1) notitle lc rgb "#3a6ea5"
set title "middle tier CPU per request (µs)"
plot ${JSON.stringify(data)} every ::1 using 3:xtic(1) notitle lc rgb "#d9822b"
unset multiplot
`;
  const plotFile = path.join(work, 'chart.gp');
  fs.writeFileSync(plotFile, plot);
  execFileSync('gnuplot', [plotFile]);
}

main().catch((error) => {
  console.error(`\nbench: ${error.message}`);
  stopAll();
  process.exit(1);
});
