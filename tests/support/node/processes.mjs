// Child processes for the Node.js tests: starts esgw's binaries from the build, keeps the tail of
// their output for error messages, waits for their port files, and stops them — with SIGTERM
// and a grace period when a test ends, and with SIGKILL when the runner itself exits or is told
// to stop. Only Node.js built-ins, so that tests with their own node_modules can share it;
// also how those tests import their npm packages.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export class Processes {
  // binDir: where esgw-server and esgw-devcluster are; startupTimeoutMs: how long a child may
  // take to write its port file; stopTimeoutMs: SIGTERM grace before SIGKILL.
  constructor({ binDir, startupTimeoutMs = 20_000, stopTimeoutMs = 5_000 }) {
    this.binDir = binDir;
    this.startupTimeoutMs = startupTimeoutMs;
    this.stopTimeoutMs = stopTimeoutMs;
    this.children = new Set();
    this.tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'esgw-node-test-'));
    const killAllNow = () => {
      for (const child of this.children) {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      fs.rmSync(this.tmpDir, { recursive: true, force: true });
    };
    // Last resort when the runner exits or is told to stop before the tests' own cleanup ran.
    process.on('exit', killAllNow);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
      process.once(signal, () => {
        killAllNow();
        process.exit(128 + os.constants.signals[signal]);
      });
    }
  }

  // A path in this run's temporary folder, removed by stopAll().
  tmpPath(name) {
    return path.join(this.tmpDir, name);
  }

  // Starts a binary from binDir. The environment is the test's own without ESGW_* (our
  // binaries read their flags from those), plus `env`.
  start(name, args, { env = {} } = {}) {
    const file = path.join(this.binDir, name);
    if (!fs.existsSync(file))
      throw new Error(`${file} does not exist: build it first (make build)`);
    const childEnv = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !key.startsWith('ESGW_')),
    );
    const child = spawn(file, args, {
      env: { ...childEnv, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.label = name;
    child.output = '';
    const keep = (chunk) => {
      child.output = (child.output + chunk.toString()).slice(-8192);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) => keep(`spawn error: ${err.message}\n`));
    child.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    this.children.add(child);
    return child;
  }

  // SIGTERM, then SIGKILL after stopTimeoutMs. Resolves to how the child exited.
  async stop(child, { timeoutMs = this.stopTimeoutMs } = {}) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      // Cancel the grace timer once the child is gone, or it would hold the runner open.
      const grace = new AbortController();
      const stopped = await Promise.race([
        child.exited.then(() => true),
        sleep(timeoutMs, false, { signal: grace.signal }).catch(() => true),
      ]);
      grace.abort();
      if (!stopped) child.kill('SIGKILL');
    }
    return child.exited;
  }

  async stopAll() {
    await Promise.all([...this.children].map((child) => this.stop(child)));
    fs.rmSync(this.tmpDir, { recursive: true, force: true });
  }

  // Polls `file` until parse(text) returns a value other than undefined. Fails after
  // startupTimeoutMs or as soon as the child exits, with the child's output in the message.
  async waitForPortFile(child, file, parse) {
    const deadline = Date.now() + this.startupTimeoutMs;
    for (;;) {
      if (fs.existsSync(file)) {
        const value = parse(fs.readFileSync(file, 'utf8'));
        if (value !== undefined) return value;
      }
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `${child.label} exited (${child.exitCode ?? child.signalCode}) before writing ` +
            `${file}; its output:\n${child.output}`,
        );
      }
      if (Date.now() > deadline) {
        throw new Error(
          `${child.label} did not write ${file} within ${this.startupTimeoutMs} ms; ` +
            `its output:\n${child.output}`,
        );
      }
      await sleep(50);
    }
  }

  // A 3-node esgw-devcluster with the sample data; resolves to its nodes' "127.0.0.1:port".
  async startDevCluster() {
    const clusterFile = this.tmpPath('cluster.json');
    const cluster = this.start('esgw-devcluster', [
      '--nodes=3',
      '--base_port=0',
      '--sample_data',
      `--port_file=${clusterFile}`,
    ]);
    const { nodes } = await this.waitForPortFile(cluster, clusterFile, parseClusterFile);
    return nodes;
  }
}

// esgw-devcluster's --port_file: JSON with the nodes' addresses.
export function parseClusterFile(text) {
  try {
    const value = JSON.parse(text);
    return Array.isArray(value.nodes) && value.nodes.length > 0 ? value : undefined;
  } catch {
    return undefined; // not fully written yet
  }
}

// esgw-server's --port_file: the gRPC port, then the /metrics port when metrics are on.
export function parsePortFile(text) {
  const match = /^(\d+)\n(?:(\d+)\n)?$/.exec(text);
  if (!match || Number(match[1]) <= 0) return undefined;
  return { grpc: Number(match[1]), metrics: match[2] ? Number(match[2]) : 0 };
}

// Imports the npm packages a test names, which come from `npm ci` in the test's folder
// (`make node-deps`); says so when they are missing instead of failing with a bare
// module-not-found. `load` is the test's own `(name) => import(name)`, so that names resolve
// from the test's folder rather than from this file's.
export async function importDependencies(load, folder, names) {
  const modules = [];
  for (const name of names) {
    try {
      modules.push(await load(name));
    } catch (err) {
      throw new Error(
        `cannot load ${name}: run \`make node-deps\` (npm ci in ${folder}): ${err.message}`,
      );
    }
  }
  return modules;
}
