// Checks deploy/ the way a cluster would, without a cluster (none can run on our machines):
//  - renders the kustomize base and the example overlay (a strict subset of kustomize, below),
//  - validates every object against the Kubernetes API schemas (kubernetes-models) and, as the
//    API server's strict field validation does, refuses fields the schema does not have,
//  - checks that the objects agree with each other and with esgw-server: selectors, ports,
//    probes, mounts, grace periods; the ConfigMap's config loads with --print_config; and the
//    Deployment's own arguments start a real esgw-server whose probe services answer SERVING,
//  - checks the compose file the same way,
//  - runs every grpcurl command of deploy/README.md's cookbook, its JSON parsed as strictly as
//    protobuf JSON, against a running esgw-server.
//
// Env: ESGW_BIN_DIR (default <repo>/build/bin), ESGW_PROTO_DIR (default <repo>/proto).
// Run: node --test tests/deploy/manifests.test.mjs   (after `make build node-deps`)

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { importDependencies, parsePortFile, Processes } from '../support/node/processes.mjs';
import { fromProtoJson } from '../support/node/protojson.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../..');
const DEPLOY = path.join(REPO, 'deploy');
const BIN_DIR = process.env.ESGW_BIN_DIR || path.join(REPO, 'build/bin');
const PROTO_DIR = process.env.ESGW_PROTO_DIR || path.join(REPO, 'proto');
const CALL_TIMEOUT_MS = 10_000;
// What Kubernetes' grace period must leave after --shutdown_delay and --shutdown_grace for the
// process to stop and exit once its last call is done.
const EXIT_MARGIN_S = 5;

const require = createRequire(import.meta.url);
const [YAML, { default: ts }, grpc, protoLoader] = await importDependencies(
  (name) => import(name),
  HERE,
  ['yaml', 'typescript', '@grpc/grpc-js', '@grpc/proto-loader'],
);

// ---- YAML ----------------------------------------------------------------------------------

// Every document of a YAML file; a syntax error, a repeated key or an empty document fails.
function loadYaml(file) {
  const text = fs.readFileSync(file, 'utf8');
  const docs = YAML.parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true });
  const objects = [];
  for (const doc of docs) {
    const problems = [...doc.errors, ...doc.warnings];
    assert.equal(problems.length, 0, `${rel(file)}: ${problems.map((p) => p.message).join('; ')}`);
    const value = doc.toJS();
    if (value === null) continue;
    assert.equal(typeof value, 'object', `${rel(file)}: a document is not a mapping`);
    objects.push(value);
  }
  return objects;
}

function rel(file) {
  return path.relative(REPO, file);
}

// Where an object came from, for messages; not enumerable, so not part of the object.
function tagSource(object, file) {
  Object.defineProperty(object, '__source', { value: rel(file), enumerable: false });
  return object;
}

function describeObject(object) {
  return `${object.kind}/${object.metadata?.name} (${object.__source})`;
}

// ---- a strict subset of kustomize -----------------------------------------------------------

// The kustomization fields our files use, and what this renderer does with them. A field not
// listed fails the test instead of being ignored, so the check never silently diverges from what
// `kubectl apply -k` would do.
const KUSTOMIZATION_FIELDS = {
  Kustomization: new Set([
    'apiVersion',
    'kind',
    'resources',
    'components',
    'namespace',
    'images',
    'configMapGenerator',
  ]),
  Component: new Set(['apiVersion', 'kind', 'resources']),
};
const CLUSTER_SCOPED_KINDS = new Set(['Namespace']);

// Renders dir's kustomization into a list of objects. ConfigMaps from configMapGenerator are
// marked `generated` (kustomize gives them a content-hash suffix and rewrites references to
// them, which is why references must name the generator).
function renderKustomization(dir, expectedKind = 'Kustomization') {
  const file = path.join(dir, 'kustomization.yaml');
  assert.ok(fs.existsSync(file), `${rel(dir)} has no kustomization.yaml`);
  const [k] = loadYaml(file);
  const kind = k.kind ?? 'Kustomization';
  assert.equal(kind, expectedKind, `${rel(file)}: kind`);
  assert.equal(
    k.apiVersion,
    kind === 'Component' ? 'kustomize.config.k8s.io/v1alpha1' : 'kustomize.config.k8s.io/v1beta1',
    `${rel(file)}: apiVersion`,
  );
  for (const key of Object.keys(k)) {
    assert.ok(
      KUSTOMIZATION_FIELDS[kind].has(key),
      `${rel(file)}: '${key}' is not emulated by this test; extend renderKustomization`,
    );
  }

  const objects = [];
  for (const entry of k.resources ?? []) {
    const target = path.resolve(dir, entry);
    assert.ok(fs.existsSync(target), `${rel(file)}: resource ${entry} does not exist`);
    if (fs.statSync(target).isDirectory()) {
      objects.push(...renderKustomization(target));
    } else {
      objects.push(...loadYaml(target).map((object) => tagSource(object, target)));
    }
  }
  for (const generator of k.configMapGenerator ?? []) {
    const data = {};
    for (const entry of generator.files ?? []) {
      const [key, source] = entry.includes('=')
        ? entry.split('=', 2)
        : [path.basename(entry), entry];
      data[key] = fs.readFileSync(path.resolve(dir, source), 'utf8');
    }
    for (const key of Object.keys(generator)) {
      assert.ok(['name', 'files', 'behavior'].includes(key), `${rel(file)}: generator '${key}'`);
    }
    const existing = objects.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name === generator.name && o.generated,
    );
    const behavior = generator.behavior ?? 'create';
    if (behavior === 'create') {
      assert.equal(existing, undefined, `${rel(file)}: ConfigMap ${generator.name} exists`);
      const configMap = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: generator.name },
        data,
      };
      Object.defineProperty(configMap, 'generated', { value: true, enumerable: false });
      objects.push(tagSource(configMap, file));
    } else {
      assert.ok(existing, `${rel(file)}: behavior ${behavior} but no ConfigMap ${generator.name}`);
      assert.ok(['merge', 'replace'].includes(behavior), `${rel(file)}: behavior ${behavior}`);
      existing.data = behavior === 'merge' ? { ...existing.data, ...data } : data;
    }
  }
  for (const entry of k.components ?? []) {
    objects.push(...renderKustomization(path.resolve(dir, entry), 'Component'));
  }
  if (k.namespace) {
    for (const object of objects) {
      if (!CLUSTER_SCOPED_KINDS.has(object.kind)) object.metadata.namespace = k.namespace;
    }
  }
  for (const image of k.images ?? []) {
    let used = false;
    for (const container of allContainers(objects)) {
      const name = container.image.replace(/[:@].*$/, '');
      if (name !== image.name) continue;
      used = true;
      container.image = `${image.newName ?? name}${image.digest ? `@${image.digest}` : `:${image.newTag}`}`;
    }
    assert.ok(used, `${rel(file)}: images: no container uses image '${image.name}'`);
  }
  return objects;
}

function allContainers(objects) {
  return objects
    .filter((o) => o.spec?.template?.spec)
    .flatMap((o) => [
      ...(o.spec.template.spec.containers ?? []),
      ...(o.spec.template.spec.initContainers ?? []),
    ]);
}

// ---- Kubernetes API schemas -----------------------------------------------------------------

// apiVersion/kind -> the kubernetes-models module with its class, its validate() (the API's
// JSON schema: types, required fields, formats) and its TypeScript declaration (every field).
const MODELS = {
  'v1/ConfigMap': 'kubernetes-models/v1/ConfigMap',
  'v1/Namespace': 'kubernetes-models/v1/Namespace',
  'v1/Secret': 'kubernetes-models/v1/Secret',
  'v1/Service': 'kubernetes-models/v1/Service',
  'v1/ServiceAccount': 'kubernetes-models/v1/ServiceAccount',
  'apps/v1/Deployment': 'kubernetes-models/apps/v1/Deployment',
  'autoscaling/v2/HorizontalPodAutoscaler':
    'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
  'policy/v1/PodDisruptionBudget': 'kubernetes-models/policy/v1/PodDisruptionBudget',
  'networking.k8s.io/v1/NetworkPolicy': 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy',
  'monitoring.coreos.com/v1/ServiceMonitor':
    '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor',
};

function modelOf(object) {
  const module = MODELS[`${object.apiVersion}/${object.kind}`];
  assert.ok(
    module,
    `${describeObject(object)}: no schema known for ${object.apiVersion} ${object.kind}`,
  );
  return module;
}

// The API server (kubectl apply's default, --validate=strict) refuses a field its schema does not
// have; the JSON schemas here allow extra fields. So unknown fields are found from the models'
// TypeScript declarations, with the TypeScript compiler's type checker.
let checker;
const declarationTypes = new Map();
function declarationType(module) {
  if (!checker) {
    const files = Object.values(MODELS).map((m) => require.resolve(m).replace(/\.js$/, '.d.ts'));
    const program = ts.createProgram(files, { noEmit: true, skipLibCheck: true, types: [] });
    checker = program.getTypeChecker();
    for (const [i, m] of Object.values(MODELS).entries()) {
      const source = program.getSourceFile(files[i]);
      const iface = checker
        .getExportsOfModule(checker.getSymbolAtLocation(source))
        .find((s) => s.flags & ts.SymbolFlags.Interface);
      assert.ok(iface, `no interface declared in ${files[i]}`);
      declarationTypes.set(m, checker.getDeclaredTypeOfSymbol(iface));
    }
  }
  return declarationTypes.get(module);
}

// Every field of `value` that `type` does not declare, as paths.
function unknownFields(value, type, where, out = []) {
  if (value === null || typeof value !== 'object') return out;
  // Optional fields are `T | undefined`; a field's type may also be a union of shapes.
  const candidates = (type.isUnion() ? type.types : [type]).filter(
    (t) => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)),
  );
  if (candidates.some((t) => t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown))) return out;
  if (Array.isArray(value)) {
    const arrayType = candidates.find((t) => checker.isArrayType(t));
    if (!arrayType) return out; // e.g. a free-form JSON field
    const element = checker.getTypeArguments(arrayType)[0];
    value.forEach((item, i) => unknownFields(item, element, `${where}[${i}]`, out));
    return out;
  }
  const objectType = candidates.find(
    (t) => t.flags & ts.TypeFlags.Object && !checker.isArrayType(t),
  );
  if (!objectType) return out;
  const mapValue = checker.getIndexTypeOfType(objectType, ts.IndexKind.String);
  for (const [key, child] of Object.entries(value)) {
    const property = objectType.getProperty(key);
    if (property) {
      unknownFields(child, checker.getTypeOfSymbol(property), `${where}.${key}`, out);
    } else if (mapValue) {
      unknownFields(child, mapValue, `${where}.${key}`, out);
    } else {
      out.push(`${where}.${key}`);
    }
  }
  return out;
}

async function validateAgainstSchema(object) {
  const module = modelOf(object);
  const { [object.kind]: Model } = await import(module);
  assert.doesNotThrow(
    () => new Model(object).validate(),
    (err) => assert.fail(`${describeObject(object)}: ${err.message}`),
  );
  const unknown = unknownFields(object, declarationType(module), object.kind);
  assert.deepEqual(unknown, [], `${describeObject(object)}: fields the API does not have`);
}

// ---- what esgw-server makes of flags --------------------------------------------------------

function flagValue(args, name) {
  const values = args
    .filter((a) => a.startsWith(`--${name}=`))
    .map((a) => a.slice(name.length + 3));
  assert.ok(values.length <= 1, `--${name} is given ${values.length} times`);
  return values[0];
}

function portOf(listen, flag) {
  const match = /:(\d+)$/.exec(listen ?? '');
  assert.ok(match, `--${flag}=${listen} has no port`);
  return Number(match[1]);
}

// absl durations as esgw takes them: 500ms, 30s, 1m30s, 1h.
function seconds(duration, what) {
  const units = { h: 3600, m: 60, s: 1, ms: 0.001, us: 1e-6, ns: 1e-9 };
  if (duration === '0') return 0;
  const parts = [...duration.matchAll(/(\d+(?:\.\d+)?)(h|ms|us|ns|m|s)/g)];
  assert.ok(
    parts.length > 0 && parts.map((p) => p[0]).join('') === duration,
    `${what}: '${duration}' is not a duration`,
  );
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * units[unit], 0);
}

// Runs esgw-server with `args` and --print_config; returns the printed configuration.
function printConfig(args, env = {}) {
  const file = path.join(BIN_DIR, 'esgw-server');
  assert.ok(fs.existsSync(file), `${file} does not exist: build it first (make build)`);
  const cleanEnv = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('ESGW_')),
  );
  try {
    return execFileSync(file, [...args, '--print_config'], {
      env: { ...cleanEnv, ...env },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    assert.fail(
      `esgw-server ${args.join(' ')} --print_config failed: ${err.stderr || err.message}`,
    );
  }
}

// ---- gRPC -----------------------------------------------------------------------------------

const packageDefinition = protoLoader.loadSync(
  ['esgw/v1/gateway.proto', 'esgw/v1/admin.proto', 'grpc/health/v1/health.proto'],
  { includeDirs: [PROTO_DIR], keepCase: true, longs: String, enums: String, defaults: true },
);
const loaded = grpc.loadPackageDefinition(packageDefinition);
const { Health } = loaded.grpc.health.v1;

function healthCheck(client, service) {
  return new Promise((resolve) => {
    client.Check({ service }, { deadline: new Date(Date.now() + CALL_TIMEOUT_MS) }, (err, res) =>
      resolve(err ? `error ${err.code}: ${err.details}` : res.status),
    );
  });
}

// ---- the checks -----------------------------------------------------------------------------

function selects(selector, labels) {
  return Object.entries(selector ?? {}).every(([key, value]) => labels?.[key] === value);
}

function only(objects, kind, name) {
  const found = objects.filter(
    (o) => o.kind === kind && (name === undefined || o.metadata.name === name),
  );
  assert.equal(
    found.length,
    1,
    `expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`,
  );
  return found[0];
}

// The facts about the esgw container that the other objects must agree with.
function gatewayFacts(objects) {
  const deployment = only(objects, 'Deployment', 'esgw');
  const pod = deployment.spec.template;
  const container = pod.spec.containers.find((c) => c.name === 'esgw');
  assert.ok(container, 'the Deployment has no container named esgw');
  const args = container.args ?? [];
  const ports = Object.fromEntries((container.ports ?? []).map((p) => [p.name, p.containerPort]));
  return { deployment, pod, container, args, ports };
}

// Checks every rule that ties the rendered objects together; returns the gateway facts.
function checkConsistency(objects) {
  const names = new Set();
  for (const o of objects) {
    const key = `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    assert.ok(!names.has(key), `${key} is defined twice`);
    names.add(key);
  }
  const facts = gatewayFacts(objects);
  const { deployment, pod, container, args, ports } = facts;
  const podLabels = pod.metadata.labels;

  // Selectors of everything that points at the pods.
  assert.ok(selects(deployment.spec.selector.matchLabels, podLabels), 'Deployment selector');
  for (const service of objects.filter((o) => o.kind === 'Service')) {
    assert.ok(
      selects(service.spec.selector, podLabels),
      `Service ${service.metadata.name} selector`,
    );
    for (const port of service.spec.ports) {
      const target = typeof port.targetPort === 'string' ? ports[port.targetPort] : port.targetPort;
      assert.ok(
        target,
        `Service ${service.metadata.name}: targetPort ${port.targetPort} is no container port`,
      );
    }
  }
  const pdb = only(objects, 'PodDisruptionBudget');
  assert.ok(selects(pdb.spec.selector.matchLabels, podLabels), 'PodDisruptionBudget selector');
  const policy = only(objects, 'NetworkPolicy');
  assert.ok(selects(policy.spec.podSelector.matchLabels, podLabels), 'NetworkPolicy podSelector');
  for (const spread of pod.spec.topologySpreadConstraints ?? []) {
    assert.ok(
      selects(spread.labelSelector.matchLabels, podLabels),
      `spread over ${spread.topologyKey}`,
    );
  }
  const hpa = only(objects, 'HorizontalPodAutoscaler');
  assert.deepEqual(
    [hpa.spec.scaleTargetRef.kind, hpa.spec.scaleTargetRef.name],
    ['Deployment', deployment.metadata.name],
    'the HorizontalPodAutoscaler scales the Deployment',
  );
  assert.ok(
    hpa.spec.minReplicas <= deployment.spec.replicas,
    'HPA minReplicas above the Deployment replicas',
  );
  assert.ok(container.resources?.requests?.cpu, 'the HPA scales on CPU, which needs a CPU request');

  // Ports: the flags, the container, the probes, the Services, the policy, the scrape config.
  const grpcPort = portOf(flagValue(args, 'listen'), 'listen');
  const metricsPort = portOf(flagValue(args, 'metrics_listen'), 'metrics_listen');
  assert.equal(ports.grpc, grpcPort, 'container port "grpc" is not the --listen port');
  assert.equal(
    ports.metrics,
    metricsPort,
    'container port "metrics" is not the --metrics_listen port',
  );
  const probes = {
    readinessProbe: 'esgw.v1.Gateway',
    livenessProbe: 'esgw.v1.Admin',
    startupProbe: 'esgw.v1.Admin',
  };
  for (const [probe, service] of Object.entries(probes)) {
    assert.ok(container[probe]?.grpc, `${probe} is not a gRPC probe`);
    assert.equal(container[probe].grpc.port, grpcPort, `${probe} port is not the --listen port`);
    // Readiness follows the pool; liveness only the process (see the README's Health section).
    assert.equal(container[probe].grpc.service, service, `${probe} service`);
  }
  const headless = objects.find((o) => o.kind === 'Service' && o.spec.clusterIP === 'None');
  assert.ok(headless, 'no headless Service for dns:/// round_robin clients');
  assert.deepEqual(
    headless.spec.ports.map((p) => p.targetPort),
    ['grpc'],
    'the headless Service carries gRPC only',
  );
  const allowedIn = policy.spec.ingress.flatMap((rule) => rule.ports.map((p) => p.port)).sort();
  assert.deepEqual(
    allowedIn,
    ['grpc', 'metrics'],
    'the NetworkPolicy lets in gRPC and metrics only',
  );
  for (const port of allowedIn)
    assert.ok(ports[port], `NetworkPolicy port ${port} is no container port`);
  const annotations = pod.metadata.annotations ?? {};
  if (annotations['prometheus.io/port']) {
    assert.equal(Number(annotations['prometheus.io/port']), metricsPort, 'prometheus.io/port');
  }
  for (const monitor of objects.filter((o) => o.kind === 'ServiceMonitor')) {
    const scraped = objects.filter(
      (o) => o.kind === 'Service' && selects(monitor.spec.selector.matchLabels, o.metadata.labels),
    );
    for (const endpoint of monitor.spec.endpoints) {
      const withPort = scraped.filter((s) => s.spec.ports.some((p) => p.name === endpoint.port));
      // Exactly one Service, or each pod would be scraped twice.
      assert.equal(
        withPort.length,
        1,
        `ServiceMonitor port ${endpoint.port}: ${withPort.length} Services have it`,
      );
    }
  }

  // Shutdown: Kubernetes kills at terminationGracePeriodSeconds.
  const delay = seconds(flagValue(args, 'shutdown_delay') ?? '0', '--shutdown_delay');
  const grace = seconds(flagValue(args, 'shutdown_grace') ?? '10s', '--shutdown_grace');
  const period = pod.spec.terminationGracePeriodSeconds ?? 30;
  assert.ok(
    delay + grace + EXIT_MARGIN_S <= period,
    `terminationGracePeriodSeconds ${period} < --shutdown_delay ${delay} + --shutdown_grace ${grace} + ${EXIT_MARGIN_S}`,
  );
  // Something routing by readiness alone must have seen NOT_SERVING before the listener closes.
  const readiness = container.readinessProbe;
  assert.ok(
    (readiness.periodSeconds ?? 10) * (readiness.failureThreshold ?? 3) <= delay,
    `readiness takes ${(readiness.periodSeconds ?? 10) * (readiness.failureThreshold ?? 3)} s to fail, longer than --shutdown_delay ${delay} s`,
  );

  // Security: nothing runs as root, nothing writes to the image.
  assert.equal(pod.spec.securityContext?.runAsNonRoot, true, 'pod runAsNonRoot');
  assert.equal(container.securityContext?.readOnlyRootFilesystem, true, 'readOnlyRootFilesystem');
  assert.equal(
    container.securityContext?.allowPrivilegeEscalation,
    false,
    'allowPrivilegeEscalation',
  );
  assert.deepEqual(container.securityContext?.capabilities?.drop, ['ALL'], 'capabilities');
  assert.equal(pod.spec.automountServiceAccountToken, false, 'no API token is needed');

  // Files the flags name are where the volumes put them.
  const mounts = container.volumeMounts ?? [];
  const volumes = Object.fromEntries(pod.spec.volumes.map((v) => [v.name, v]));
  function fileSource(file, flag) {
    const mount = mounts.find((m) => file.startsWith(`${m.mountPath}/`));
    assert.ok(mount, `--${flag}=${file} is on no volume`);
    const volume = volumes[mount.volumeName ?? mount.name];
    assert.ok(volume, `volumeMount ${mount.name} has no volume`);
    return { volume, key: file.slice(mount.mountPath.length + 1) };
  }
  const config = fileSource(flagValue(args, 'config'), 'config');
  assert.ok(config.volume.configMap, '--config is not from a ConfigMap');
  const configMap = only(objects, 'ConfigMap', config.volume.configMap.name);
  assert.ok(
    configMap.generated,
    `ConfigMap ${configMap.metadata.name} is not from configMapGenerator`,
  );
  assert.ok(
    configMap.data[config.key],
    `ConfigMap ${configMap.metadata.name} has no key ${config.key}`,
  );
  const secrets = [];
  const passwordFile = flagValue(args, 'es_password_file');
  if (passwordFile) {
    const { volume, key } = fileSource(passwordFile, 'es_password_file');
    assert.ok(volume.secret, '--es_password_file is not from a Secret');
    const item = (volume.secret.items ?? []).find((i) => i.path === key);
    secrets.push({ name: volume.secret.secretName, key: item ? item.key : key });
  }
  for (const env of container.env ?? []) {
    assert.ok(env.name.startsWith('ESGW_'), `env ${env.name} is not an esgw setting`);
    if (env.valueFrom?.secretKeyRef) secrets.push(env.valueFrom.secretKeyRef);
  }
  return {
    ...facts,
    grpcPort,
    metricsPort,
    delay,
    grace,
    period,
    configMap,
    configKey: config.key,
    secrets,
  };
}

// ---- the tests ------------------------------------------------------------------------------

describe('Kubernetes manifests (deploy/k8s)', () => {
  const base = renderKustomization(path.join(DEPLOY, 'k8s/base'));
  const overlay = renderKustomization(path.join(DEPLOY, 'k8s/overlays/example'));
  let processes;
  before(() => {
    processes = new Processes({ binDir: BIN_DIR });
  });
  after(async () => {
    await processes?.stopAll();
  });

  it('every object of the base and the example overlay matches its API schema, with no unknown field', async () => {
    for (const object of [...base, ...overlay]) await validateAgainstSchema(object);
    const kinds = new Set(overlay.map((o) => o.kind));
    for (const kind of [
      'Deployment',
      'Service',
      'ConfigMap',
      'Secret',
      'HorizontalPodAutoscaler',
      'PodDisruptionBudget',
      'NetworkPolicy',
      'ServiceMonitor',
    ]) {
      assert.ok(kinds.has(kind), `the example overlay has no ${kind}`);
    }
  });

  it('the strict field check finds a misspelt field', () => {
    // The check itself must be able to fail.
    const deployment = structuredClone(only(base, 'Deployment'));
    deployment.spec.template.spec.terminationGracePeriod = 30;
    deployment.spec.template.spec.containers[0].readinessProbe.grpc.sevice = 'x';
    const found = unknownFields(deployment, declarationType(modelOf(deployment)), 'Deployment');
    assert.deepEqual(found.sort(), [
      'Deployment.spec.template.spec.containers[0].readinessProbe.grpc.sevice',
      'Deployment.spec.template.spec.terminationGracePeriod',
    ]);
  });

  for (const [name, objects] of [
    ['base', base],
    ['example overlay', overlay],
  ]) {
    it(`the ${name}'s objects agree with each other and with esgw-server's flags`, () => {
      checkConsistency(objects);
    });
  }

  it('the example overlay sets the namespace, the image and the config, and has the Secret the pods read', () => {
    const facts = checkConsistency(overlay);
    for (const object of overlay.filter((o) => o.kind !== 'Namespace')) {
      assert.equal(object.metadata.namespace, 'search', `${describeObject(object)} namespace`);
    }
    assert.match(facts.container.image, /^registry\.example\.com\/platform\/esgw-server:/);
    assert.equal(
      facts.configMap.data[facts.configKey],
      fs.readFileSync(path.join(DEPLOY, 'k8s/overlays/example/esgw.yaml'), 'utf8'),
    );
    for (const { name, key } of facts.secrets) {
      const secret = only(overlay, 'Secret', name);
      assert.ok(
        key in (secret.stringData ?? secret.data ?? {}),
        `Secret ${name} has no key ${key}`,
      );
    }
  });

  it("the ConfigMap's esgw.yaml loads with the Deployment's flags (esgw-server --print_config)", () => {
    for (const objects of [base, overlay]) {
      const facts = gatewayFacts(objects);
      const checked = checkConsistency(objects);
      const configFile = processes.tmpPath('esgw.yaml');
      fs.writeFileSync(configFile, checked.configMap.data[checked.configKey]);
      const args = facts.args.map((a) =>
        a.startsWith('--config=') ? `--config=${configFile}` : a,
      );
      const printed = printConfig(args, { ESGW_ES_USERNAME: 'esgw' });
      // Every key of the file is in effect, from the file, unless a flag overrides it.
      const keys = Object.keys(YAML.parse(checked.configMap.data[checked.configKey]));
      for (const key of keys) {
        const line = printed.split('\n').find((l) => l.startsWith(`${key}:`));
        assert.ok(line, `--print_config does not show ${key}`);
        const fromFlag = facts.args.some((a) => a.startsWith(`--${key}=`));
        assert.match(line, fromFlag ? /# flag$/ : /# .*esgw\.yaml:\d+$/, `${key}'s source`);
      }
      assert.match(printed, /^listen: "0\.0\.0\.0:50051" {2}# flag$/m);
      assert.match(printed, /^es_username: "esgw" {2}# env ESGW_ES_USERNAME$/m);
    }
  });

  it("the Deployment's arguments start esgw-server, its probe services answer SERVING, and it stops within the grace period", async () => {
    const facts = checkConsistency(overlay);
    const nodes = await processes.startDevCluster();
    const configFile = processes.tmpPath('esgw-run.yaml');
    fs.writeFileSync(configFile, facts.configMap.data[facts.configKey]);
    const passwordFile = processes.tmpPath('password');
    fs.writeFileSync(passwordFile, 'change-me');
    const portFile = processes.tmpPath('esgw-run.port');
    // The pod's flags, with the files where this test put them, loopback ports chosen by the
    // kernel, and the dev cluster for Elasticsearch.
    const args = facts.args.map((a) => {
      if (a.startsWith('--config=')) return `--config=${configFile}`;
      if (a.startsWith('--es_password_file=')) return `--es_password_file=${passwordFile}`;
      if (a.startsWith('--listen=')) return '--listen=127.0.0.1:0';
      if (a.startsWith('--metrics_listen=')) return '--metrics_listen=127.0.0.1:0';
      return a;
    });
    args.push(`--es_nodes=${nodes.map((n) => `http://${n}`).join(',')}`, `--port_file=${portFile}`);
    const server = processes.start('esgw-server', args, { env: { ESGW_ES_USERNAME: 'esgw' } });
    const ports = await processes.waitForPortFile(server, portFile, parsePortFile);
    assert.ok(ports.metrics > 0, 'the metrics port is not in the port file');

    const client = new Health(`127.0.0.1:${ports.grpc}`, grpc.credentials.createInsecure());
    try {
      for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
        const service = facts.container[probe].grpc.service ?? '';
        assert.equal(
          await healthCheck(client, service),
          'SERVING',
          `${probe} (service '${service}')`,
        );
      }
    } finally {
      client.close();
    }
    const path_ = facts.pod.metadata.annotations['prometheus.io/path'];
    const scrape = await fetch(`http://127.0.0.1:${ports.metrics}${path_}`);
    assert.equal(scrape.status, 200, `GET ${path_}`);
    assert.match(await scrape.text(), /^esgw_serving 1$/m);

    const started = Date.now();
    const { code, signal } = await processes.stop(server, { timeoutMs: facts.period * 1000 });
    assert.equal(
      signal,
      null,
      `esgw-server was killed (${signal}) after ${Date.now() - started} ms:\n${server.output}`,
    );
    assert.equal(code, 0, `esgw-server exited ${code}:\n${server.output}`);
  });
});

describe('compose file (deploy/compose.yaml)', () => {
  const [compose] = loadYaml(path.join(DEPLOY, 'compose.yaml'));
  const services = compose.services ?? {};

  it('esgw is built from the Dockerfile, reaches Elasticsearch by service name and waits for it to be healthy', () => {
    const esgw = services.esgw;
    assert.ok(esgw, 'no esgw service');
    const context = path.resolve(DEPLOY, esgw.build.context);
    assert.ok(
      fs.existsSync(path.join(context, esgw.build.dockerfile)),
      'the Dockerfile is not in the build context',
    );
    const seeds = flagValue(esgw.command, 'es_nodes').split(',');
    for (const seed of seeds) {
      const host = new URL(seed).hostname;
      assert.ok(services[host], `--es_nodes names '${host}', which is no service`);
      assert.equal(
        esgw.depends_on?.[host]?.condition,
        'service_healthy',
        `esgw does not wait for ${host}`,
      );
      assert.ok(services[host].healthcheck?.test, `${host} has no healthcheck`);
    }
    for (const secret of [...(esgw.secrets ?? []), ...(services.elasticsearch.secrets ?? [])]) {
      assert.ok(compose.secrets?.[secret], `secret ${secret} is not defined`);
    }
    assert.equal(flagValue(esgw.command, 'es_password_file'), `/run/secrets/${esgw.secrets[0]}`);
    assert.equal(
      services.elasticsearch.environment.ELASTIC_PASSWORD_FILE,
      `/run/secrets/${esgw.secrets[0]}`,
    );
  });

  it("esgw's command is flags esgw-server accepts, its ports are published, and it stops within the grace period", () => {
    const esgw = services.esgw;
    printConfig(esgw.command);
    const published = esgw.ports.map((p) => Number(p.split(':').pop()));
    assert.deepEqual(
      published.sort(),
      [
        portOf(flagValue(esgw.command, 'listen'), 'listen'),
        portOf(flagValue(esgw.command, 'metrics_listen'), 'metrics_listen'),
      ].sort(),
    );
    const delay = seconds(flagValue(esgw.command, 'shutdown_delay') ?? '0', '--shutdown_delay');
    const grace = seconds(flagValue(esgw.command, 'shutdown_grace') ?? '10s', '--shutdown_grace');
    assert.ok(
      delay + grace + EXIT_MARGIN_S <= seconds(esgw.stop_grace_period, 'stop_grace_period'),
      'stop_grace_period is shorter than --shutdown_delay + --shutdown_grace + the exit margin',
    );
    assert.equal(esgw.read_only, true, 'read_only');
    assert.deepEqual(esgw.cap_drop, ['ALL']);
  });
});

describe('image and manifests agree (deploy/Dockerfile)', () => {
  const dockerfile = path.join(DEPLOY, 'Dockerfile');

  it(
    'the pods run as the image user, and the image exposes the container ports',
    { skip: !fs.existsSync(dockerfile) && 'no deploy/Dockerfile' },
    () => {
      const text = fs.readFileSync(dockerfile, 'utf8');
      const runtime = text.slice(text.lastIndexOf('\nFROM '));
      const user = /^USER\s+(\d+)(?::(\d+))?\s*$/m.exec(runtime);
      assert.ok(user, 'the runtime stage has no numeric USER');
      const exposed = [...runtime.matchAll(/^EXPOSE\s+(.+)$/gm)]
        .flatMap((m) => m[1].trim().split(/\s+/))
        .map((p) => Number(p.replace(/\/tcp$/, '')));
      const facts = gatewayFacts(renderKustomization(path.join(DEPLOY, 'k8s/base')));
      assert.equal(
        facts.pod.spec.securityContext.runAsUser,
        Number(user[1]),
        'runAsUser is not the image USER',
      );
      for (const port of Object.values(facts.ports))
        assert.ok(exposed.includes(port), `the image does not EXPOSE ${port}`);
      const [compose] = loadYaml(path.join(DEPLOY, 'compose.yaml'));
      assert.equal(
        compose.services.esgw.user,
        `${user[1]}:${user[2] ?? user[1]}`,
        'compose user is not the image USER',
      );
    },
  );
});

// ---- the grpcurl cookbook -------------------------------------------------------------------

// The shell commands of the first ```sh block after `heading` in a Markdown file, each as its
// words: quotes removed, backslash-newline joined, comments dropped. Enough shell for a README.
function shellCommands(file, heading) {
  const text = fs.readFileSync(file, 'utf8');
  const section = text.slice(text.indexOf(heading));
  const block = /```sh\n([\s\S]*?)```/.exec(section);
  assert.ok(block, `${rel(file)}: no sh block after '${heading}'`);
  const commands = [];
  let words = [];
  let word = null;
  let quote = null;
  const src = block[1];
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (quote) {
      if (c === quote) quote = null;
      else if (quote === '"' && c === '\\' && '"\\$`'.includes(src[i + 1])) word += src[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      word ??= '';
    } else if (c === '\\' && src[i + 1] === '\n') {
      i++;
    } else if (c === '#' && word === null) {
      while (i < src.length && src[i] !== '\n') i++;
      i--;
    } else if (c === ' ' || c === '\n') {
      if (word !== null) words.push(word);
      word = null;
      if (c === '\n' && words.length > 0) {
        commands.push(words);
        words = [];
      }
    } else {
      word = (word ?? '') + c;
    }
  }
  assert.equal(quote, null, `${rel(file)}: unterminated quote`);
  return commands;
}

describe("grpcurl examples (deploy/README.md's cookbook, the README's grpcurl section)", () => {
  const readme = path.join(DEPLOY, 'README.md');
  const commands = shellCommands(readme, '## grpcurl cookbook');
  const examples = [
    ...commands.map((words) => ({ file: readme, words })),
    ...shellCommands(path.join(REPO, 'README.md'), '## Calling it with grpcurl').map((words) => ({
      file: path.join(REPO, 'README.md'),
      words,
    })),
  ];
  let processes;
  let target;

  before(async () => {
    processes = new Processes({ binDir: BIN_DIR });
    const nodes = await processes.startDevCluster();
    const portFile = processes.tmpPath('cookbook.port');
    const server = processes.start('esgw-server', [
      '--listen=127.0.0.1:0',
      `--es_nodes=${nodes.map((n) => `http://${n}`).join(',')}`,
      `--port_file=${portFile}`,
    ]);
    target = `127.0.0.1:${(await processes.waitForPortFile(server, portFile, parsePortFile)).grpc}`;
  });
  after(async () => {
    await processes?.stopAll();
  });

  it('has the commands operators need', () => {
    const methods = commands.map((words) => words.at(-1));
    for (const method of [
      'list',
      'esgw.v1.Gateway/Search',
      'esgw.v1.Gateway/Bulk',
      'esgw.v1.Admin/GetPoolStats',
      'esgw.v1.Admin/GetHealth',
      'grpc.health.v1.Health/Check',
    ]) {
      assert.ok(methods.includes(method), `the cookbook has no ${method}`);
    }
  });

  it('every command works against esgw-server', async () => {
    assert.ok(commands.length >= 10, `only ${commands.length} commands found`);
    for (const { file, words } of examples) {
      const where = `${rel(file)}: ${words.join(' ').slice(0, 80)}`;
      assert.equal(words[0], 'grpcurl', `${where}: not a grpcurl command`);
      const options = {};
      const positional = [];
      for (let i = 1; i < words.length; i++) {
        if (words[i] === '-d') options.d = words[++i];
        else if (words[i].startsWith('-')) options[words[i].slice(1)] = true;
        else positional.push(words[i]);
      }
      assert.ok(options.plaintext, `${where}: esgw serves plaintext gRPC; -plaintext is needed`);
      const [, verb, symbol] = positional;
      if (verb === 'list') continue;
      if (verb === 'describe') {
        assert.ok(packageDefinition[symbol], `${where}: ${symbol} is not in the protos`);
        continue;
      }
      const [service, method] = verb.split('/');
      const serviceDefinition = packageDefinition[service];
      assert.ok(serviceDefinition?.[method], `${where}: no method ${verb}`);
      const pkg = service.slice(0, service.lastIndexOf('.'));
      const requestType = `${pkg}.${serviceDefinition[method].requestType.type.name}`;
      const request = fromProtoJson(
        packageDefinition,
        requestType,
        JSON.parse(options.d ?? '{}'),
        where,
      );
      const Client = service.split('.').reduce((o, part) => o[part], loaded);
      const client = new Client(target, grpc.credentials.createInsecure());
      try {
        const response = await new Promise((resolve, reject) => {
          const deadline = new Date(Date.now() + CALL_TIMEOUT_MS);
          if (serviceDefinition[method].responseStream) {
            // The first message is enough; then the stream is cancelled.
            const stream = client[method](request, { deadline });
            stream.once('data', (first) => {
              stream.cancel();
              resolve(first);
            });
            stream.once('error', reject);
          } else {
            client[method](request, { deadline }, (err, res) => (err ? reject(err) : resolve(res)));
          }
        }).catch((err) => assert.fail(`${where}: ${err.code} ${err.details}`));
        if (method === 'Check') assert.equal(response.status, 'SERVING', where);
        if (method === 'Get') assert.equal(response.found, true, where);
        if (method === 'Bulk')
          assert.equal(response.errors, false, `${where}: ${JSON.stringify(response.items)}`);
        if (method === 'Search') assert.ok(Number(response.total?.value) > 0, `${where}: no hits`);
      } finally {
        client.close();
      }
    }
  });

  it('the strict JSON check refuses a misspelt field and an unknown enum name', () => {
    assert.throws(
      () => fromProtoJson(packageDefinition, 'esgw.v1.SearchRequest', { index: ['x'] }, 'test'),
      /has no field 'index'/,
    );
    assert.throws(
      () =>
        fromProtoJson(packageDefinition, 'esgw.v1.BulkRequest', { refresh: 'WAIT_FOR' }, 'test'),
      /is not one of/,
    );
    assert.deepEqual(
      fromProtoJson(packageDefinition, 'esgw.v1.SearchRequest', { bodyJson: '{}' }, 'test'),
      { body_json: '{}' },
    );
  });
});
