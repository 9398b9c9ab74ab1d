import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { deployedServices, dockerInstructions, dockerfileProblems, type DeployedService } from './deploy-facts.js';
import { REPO_ROOT } from './infra.js';

// docker-compose.yml cannot run here (no Docker engine), so its shape is checked by reading: the
// Compose Specification's JSON Schema (deploy/docker/compose-spec.json, from compose-go v2.16.1,
// the parser `docker compose` uses), then what the services must agree on.
const Service = z
  .object({
    image: z.string().regex(/^[\w./-]+:[\w.-]+$/, 'an image pinned to a tag').optional(),
    build: z.union([z.string(), z.object({ context: z.string(), dockerfile: z.string().optional() })]).optional(),
    command: z.union([z.string(), z.array(z.string())]).optional(),
    ports: z.array(z.string().regex(/^(?:\$\{[^}]+\}:|[\d.]+:)?\d+:\d+$/)).optional(),
    depends_on: z.union([z.array(z.string()), z.record(z.string(), z.object({ condition: z.string() }))]).optional(),
    environment: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    volumes: z.array(z.string()).optional(),
    healthcheck: z.object({ test: z.array(z.string()).min(2) }).optional(),
  })
  .refine((service) => service.image !== undefined || service.build !== undefined, 'needs an image or a build');
type Service = z.infer<typeof Service>;

const Compose = z.object({
  name: z.string(),
  services: z.record(z.string(), Service),
  volumes: z.record(z.string(), z.unknown().nullable()).optional(),
});

const COMPOSE_FILE = join(REPO_ROOT, 'docker-compose.yml');
/** Where every published port listens: this machine only, unless the user says otherwise. */
const BIND = '${LOOMWATCH_BIND_ADDRESS:-127.0.0.1}';
// Merge keys (`<<: *clients`) are YAML 1.1; Compose reads them, so the test does too.
const readYaml = (file: string): unknown => parse(readFileSync(file, 'utf8'), { merge: true });

const ajv = new Ajv2020({ allErrors: true, strict: false });
const validateCompose = ajv.compile(JSON.parse(readFileSync(join(REPO_ROOT, 'deploy/docker/compose-spec.json'), 'utf8')) as object);
const specErrors = (document: unknown): string[] =>
  validateCompose(document) ? [] : (validateCompose.errors ?? []).map((error) => `${error.instancePath} ${error.message ?? ''}`);

const dockerfileOf = (service: Service): string | undefined =>
  typeof service.build === 'object' ? service.build.dockerfile : undefined;

describe('docker-compose.yml', () => {
  const raw = readYaml(COMPOSE_FILE);
  const compose = Compose.parse(raw);
  const services = deployedServices(REPO_ROOT);
  /** One-shot services that run a command from a service's image and exit: not that service. */
  const provisioning = new Set(['kafka-init']);
  const byDockerfile = (name: string) =>
    Object.entries(compose.services).filter(([composeName, service]) => !provisioning.has(composeName) && dockerfileOf(service) === `deploy/docker/${name}.Dockerfile`);

  it('runs Kafka in KRaft mode with one-node replication settings', () => {
    const env = compose.services['kafka']?.environment ?? {};
    expect(env['KAFKA_PROCESS_ROLES']).toBe('broker,controller');
    expect(env['KAFKA_TRANSACTION_STATE_LOG_MIN_ISR']).toBe(1);
    expect(env['KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS']).toBe(0);
  });

  it('only depends on services it defines, and publishes each host port once', () => {
    const names = new Set(Object.keys(compose.services));
    const hostPorts: string[] = [];
    for (const service of Object.values(compose.services)) {
      const deps = service.depends_on === undefined ? [] : Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on);
      for (const dep of deps) expect(names).toContain(dep);
      hostPorts.push(...(service.ports ?? []).map((port) => port.split(':').at(-2) ?? ''));
    }
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });

  it('publishes every port on LOOMWATCH_BIND_ADDRESS, 127.0.0.1 unless the user sets it', () => {
    const published = Object.entries(compose.services).flatMap(([name, service]) => (service.ports ?? []).map((port) => ({ name, port })));
    expect(published.length).toBeGreaterThanOrEqual(6);
    for (const { name, port } of published) expect(port, name).toMatch(new RegExp(`^${BIND.replace(/[$.{}]/g, '\\$&')}:\\d+:\\d+$`));
  });

  it('gives the API its token, the gateway its camera credentials and the dashboard sign-in and read-only S3, from what the user sets', () => {
    const env = (name: string) => compose.services[name]?.environment ?? {};
    // Unset, the API refuses to start (api.auth token without a token) and the dashboard too (no issuer): fail closed.
    expect(env('inference-api')['LOOMWATCH_API_TOKEN']).toBe('${LOOMWATCH_API_TOKEN:-}');
    expect(env('inference-api')['LOOMWATCH_API__AUTH']).toBeUndefined();
    expect(env('dashboard')).toMatchObject({
      LOOMWATCH_AUTH__MODE: '${LOOMWATCH_DASHBOARD_AUTH_MODE:-oidc}',
      LOOMWATCH_AUTH__OIDC__ISSUER: '${LOOMWATCH_OIDC_ISSUER:-}',
      LOOMWATCH_OIDC_CLIENT_SECRET: '${LOOMWATCH_OIDC_CLIENT_SECRET:-}',
      LOOMWATCH_SESSION_SECRET: '${LOOMWATCH_SESSION_SECRET:-}',
    });
    const readOnlyUser = env('minio-init')['READONLY_ACCESS_KEY_ID'];
    expect(env('dashboard')['S3_ACCESS_KEY_ID']).toBe(readOnlyUser);
    expect(env('dashboard')['S3_SECRET_ACCESS_KEY']).toBe(env('minio-init')['READONLY_SECRET_ACCESS_KEY']);
    expect(env('camera-gateway')['S3_ACCESS_KEY_ID']).not.toBe(readOnlyUser);
    const policy = z
      .object({ Statement: z.array(z.object({ Effect: z.literal('Allow'), Action: z.array(z.string()), Resource: z.array(z.string()) })) })
      .parse(JSON.parse(readFileSync(join(REPO_ROOT, 'deploy/docker/s3-readonly-policy.json'), 'utf8')));
    expect(policy.Statement.flatMap((statement) => statement.Action).sort()).toEqual(['s3:GetBucketLocation', 's3:GetObject', 's3:ListAllMyBuckets', 's3:PutObject']);
    // The one write: the overlays the dashboard renders on first request, nowhere else.
    expect(policy.Statement.filter((statement) => statement.Action.includes('s3:PutObject')).flatMap((statement) => statement.Resource)).toEqual(['arn:aws:s3:::loomwatch-results/overlays/*']);
    const gateway = compose.services['camera-gateway'];
    const credentials = (gateway?.volumes ?? []).find((volume) => volume.endsWith(':/etc/loomwatch/cameras.json:ro'));
    expect(gateway?.environment?.['LOOMWATCH_CAMERA_CREDENTIALS_FILE']).toBe('/etc/loomwatch/cameras.json');
    const fallback = /:-([^}]+)\}/.exec(credentials ?? '')?.[1] ?? 'missing';
    expect(JSON.parse(readFileSync(join(REPO_ROOT, fallback), 'utf8'))).toEqual([]);
  });

  it('is valid against the Compose Specification schema', () => {
    expect(specErrors(raw)).toEqual([]);
  });

  it('a compose file with a misspelt key or a wrong depends_on condition is refused by the schema', () => {
    const broken = structuredClone(raw) as { services: Record<string, Record<string, unknown>> };
    const { environment, ...kafka } = broken.services['kafka'] ?? {};
    broken.services['kafka'] = { ...kafka, enviroment: environment };
    broken.services['kafka-init'] = { ...broken.services['kafka-init'], depends_on: { kafka: { condition: 'healthy' } } };
    const errors = specErrors(broken);
    expect(errors).toContain('/services/kafka must NOT have unevaluated properties');
    expect(errors).toContain('/services/kafka-init/depends_on/kafka/condition must be equal to one of the allowed values');
  });

  it('passes `docker compose config` where the compose plugin is installed', ({ skip }) => {
    const version = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
    if (version.status !== 0) skip('no `docker compose` on this machine (the schema test above still ran)');
    const result = spawnSync('docker', ['compose', '-f', COMPOSE_FILE, '--profile', 'api', 'config', '--quiet'], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('builds every service from its own Dockerfile, and runs at least two inference workers', () => {
    for (const { name } of services) expect(byDockerfile(name).length, `${name} in docker-compose.yml`).toBeGreaterThan(0);
    for (const service of Object.values(compose.services)) {
      const dockerfile = dockerfileOf(service);
      if (dockerfile !== undefined) expect(existsSync(join(REPO_ROOT, dockerfile)), dockerfile).toBe(true);
    }
    expect(byDockerfile('inference-worker').length).toBeGreaterThanOrEqual(2);
  });

  it('creates every declared topic with `loomwatch topics apply` from the worker image, frames.v1 with at least as many partitions as there are workers', () => {
    const workers = byDockerfile('inference-worker').length;
    const init = compose.services['kafka-init'];
    expect(init?.image).toBe(byDockerfile('inference-worker')[0]?.[1].image);
    expect(dockerfileOf(init ?? {})).toBe('deploy/docker/inference-worker.Dockerfile');
    expect(init?.environment?.['KAFKA_BROKERS']).toBe('kafka:9092');
    const [node, entry, ...args] = Array.isArray(init?.command) ? init.command : [];
    expect([node, entry]).toEqual(['node', 'services/inference-worker/dist/topics-cli.js']);
    expect(existsSync(join(REPO_ROOT, 'services/inference-worker/src/topics-cli.ts'))).toBe(true);
    // The compose broker is one node: the dev profile's replication (1, min.insync.replicas 1).
    expect(compose.services['kafka']?.environment?.['KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR']).toBe(1);
    expect(args.slice(0, 3)).toEqual(['apply', '--profile', 'dev']);
    const partitions = args[args.indexOf('--partitions') + 1] ?? '';
    expect(partitions).toMatch(/^frames\.v1=\$\{FRAME_PARTITIONS:-\d+\}$/);
    expect(Number(/:-(\d+)\}/.exec(partitions)?.[1])).toBeGreaterThanOrEqual(workers);
  });

  it('points every service built here at the compose Kafka and MinIO, once the topics and buckets exist', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (dockerfileOf(service) === undefined || name === 'inference-api' || provisioning.has(name)) continue;
      expect(service.environment?.['KAFKA_BROKERS'], name).toBe('kafka:9092');
      expect(service.environment?.['S3_ENDPOINT'], name).toBe('http://minio:9000');
      expect(service.depends_on, name).toMatchObject({
        'kafka-init': { condition: 'service_completed_successfully' },
        'minio-init': { condition: 'service_completed_successfully' },
      });
    }
  });

  it('has Prometheus scrape every service on its ops port', () => {
    const prometheus = compose.services['prometheus'];
    const config = (prometheus?.volumes ?? []).map((volume) => volume.split(':')[0] ?? '').find((path) => path.endsWith('prometheus.yml'));
    const scrape = z
      .object({ scrape_configs: z.array(z.object({ static_configs: z.array(z.object({ targets: z.array(z.string()) })) })) })
      .parse(readYaml(join(REPO_ROOT, config ?? 'missing')));
    const targets = new Set(scrape.scrape_configs.flatMap((job) => job.static_configs.flatMap((c) => c.targets)));
    for (const { name, opsPort } of services) {
      for (const [composeName] of byDockerfile(name)) expect(targets, composeName).toContain(`${composeName}:${opsPort}`);
    }
  });
});

describe('deploy/docker images', () => {
  const services = deployedServices(REPO_ROOT);

  it('exist for every long-running service and follow the image rules', () => {
    expect(services.map((s) => s.name)).toEqual(expect.arrayContaining(['alerting', 'camera-gateway', 'drift-monitor', 'inference-api', 'inference-worker']));
    for (const service of services) {
      const file = join(REPO_ROOT, 'deploy/docker', `${service.name}.Dockerfile`);
      expect(existsSync(file), file).toBe(true);
      expect(dockerfileProblems(readFileSync(file, 'utf8'), service), file).toEqual([]);
    }
  });

  it('a Dockerfile that runs as root, has no health check and starts through a shell is refused', () => {
    const worker: DeployedService = { name: 'inference-worker', opsPort: 9464 };
    const good = readFileSync(join(REPO_ROOT, 'deploy/docker/inference-worker.Dockerfile'), 'utf8');
    const broken = good
      .replace(/^USER .*$/m, '')
      .replace(/^HEALTHCHECK[^]*?\n(?=\S)/m, '')
      .replace(/^CMD .*$/m, 'CMD node services/inference-worker/dist/main.js');
    expect(dockerfileProblems(broken, worker)).toEqual([
      expect.stringMatching(/^runs as root/),
      expect.stringMatching(/^has no HEALTHCHECK on 127\.0\.0\.1:9464\/healthz/),
      expect.stringMatching(/^does not start `node services\/inference-worker\/dist\/main\.js` in exec form/),
    ]);
    expect(dockerfileProblems(good.replace('ARG NODE_IMAGE=node:24.9.0-bookworm-slim', 'ARG NODE_IMAGE=node:lts'), worker)).toEqual([
      'FROM ${NODE_IMAGE} is not pinned to an exact version',
      'FROM ${NODE_IMAGE} is not pinned to an exact version',
      'FROM ${NODE_IMAGE} is not pinned to an exact version',
    ]);
  });
});

/**
 * What a Dockerfile's build stage is, for the layer cache: its instructions from `FROM … AS build`
 * up to the service's own `prune.sh` (the one step that differs), and the package it prunes for.
 */
function buildStage(text: string): { shared: string[]; prunes: string | undefined } {
  const instructions = dockerInstructions(text).map(({ keyword, args }) => `${keyword} ${args}`);
  const from = instructions.findIndex((line) => /^FROM \S+ AS build$/i.test(line));
  const prune = instructions.findIndex((line, i) => i > from && line.includes('deploy/docker/prune.sh'));
  const shared = from < 0 ? [] : instructions.slice(from, prune < 0 ? undefined : prune);
  return { shared, prunes: prune < 0 ? undefined : /prune\.sh (@loomwatch\/[\w-]+) /.exec(instructions[prune] ?? '')?.[1] };
}

/** Why six Dockerfiles would not share one cached build of the workspace (none when they do). */
function sharedBuildProblems(files: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  const stages = [...files].map(([name, text]) => ({ name, text, ...buildStage(text) }));
  const reference = stages[0];
  for (const { name, text, shared, prunes } of stages) {
    if (/^# *syntax=/m.test(text)) problems.push(`${name}: a syntax directive makes BuildKit pull a frontend image from a registry`);
    if (!shared.some((line) => /^RUN .*\bpnpm run build\b/.test(line))) problems.push(`${name}: its build stage does not build the whole workspace (pnpm run build)`);
    if (prunes !== `@loomwatch/${name}`) problems.push(`${name}: prune.sh keeps ${prunes ?? 'nothing'}, not @loomwatch/${name}`);
    if (reference !== undefined && shared.join('\n') !== reference.shared.join('\n')) problems.push(`${name}: its build stage differs from ${reference.name}'s before prune.sh`);
  }
  return problems;
}

describe('deploy/docker images share one build of the workspace', () => {
  const services = deployedServices(REPO_ROOT);
  const files = new Map(services.map(({ name }) => [name, readFileSync(join(REPO_ROOT, 'deploy/docker', `${name}.Dockerfile`), 'utf8')]));

  it('has the same build stage in every Dockerfile up to its own prune.sh, and no syntax directive', () => {
    expect(files.size).toBeGreaterThanOrEqual(6);
    expect(sharedBuildProblems(files)).toEqual([]);
  });

  it('a Dockerfile that builds only its own package, prunes another or asks for a frontend image is refused', () => {
    const broken = new Map(files);
    const gateway = files.get('camera-gateway') ?? '';
    broken.set('camera-gateway', `# syntax=docker/dockerfile:1\n${gateway.replace('&& pnpm run build', '&& pnpm --filter @loomwatch/camera-gateway run build')}`);
    broken.set('drift-monitor', (files.get('drift-monitor') ?? '').replace('prune.sh @loomwatch/drift-monitor', 'prune.sh @loomwatch/alerting'));
    expect(sharedBuildProblems(broken)).toEqual([
      'camera-gateway: a syntax directive makes BuildKit pull a frontend image from a registry',
      'camera-gateway: its build stage does not build the whole workspace (pnpm run build)',
      "camera-gateway: its build stage differs from alerting's before prune.sh",
      'drift-monitor: prune.sh keeps @loomwatch/alerting, not @loomwatch/drift-monitor',
    ]);
  });

  it('defaults NODE_IMAGE to the Node release the Makefile installs, which deploy/images builds too', () => {
    const nodeVersion = /^NODE_VERSION := *(\S+)$/m.exec(readFileSync(join(REPO_ROOT, 'Makefile'), 'utf8'))?.[1];
    expect(nodeVersion).toMatch(/^24\.\d+\.\d+$/);
    for (const [name, text] of files) expect(text, name).toContain(`ARG NODE_IMAGE=node:${nodeVersion ?? ''}-bookworm-slim`);
    // build-base.sh reads the same line of the Makefile and tags loomwatch/node:<version>-bookworm-slim.
    const buildBase = readFileSync(join(REPO_ROOT, 'deploy/images/build-base.sh'), 'utf8');
    expect(buildBase).toContain('NODE_IMAGE="loomwatch/node:$NODE_VERSION-$DEBIAN_SUITE-slim"');
    expect(buildBase).toContain(`sed -n 's/^NODE_VERSION := *//p' "$REPO_ROOT/Makefile"`);
  });
});

/**
 * deploy/compose/host-network.yml, the override `make compose-smoke` runs: every service of
 * docker-compose.yml on the host's network, nothing published, every port in 36000-36999 (the
 * range of this machine's compose smoke), the clients pointed at the override's Kafka and S3, and
 * each health check asking the ops port the service is given.
 */
function hostOverrideProblems(base: z.infer<typeof Compose>, override: { services: Record<string, Record<string, unknown>> }): string[] {
  const problems: string[] = [];
  const overridden = override.services;
  for (const [name, service] of Object.entries(base.services)) {
    const mine = overridden[name];
    if (mine === undefined) {
      problems.push(`${name}: not in the override`);
      continue;
    }
    if (mine['network_mode'] !== 'host') problems.push(`${name}: not network_mode host`);
    if (service.ports !== undefined && !(Array.isArray(mine['ports']) && mine['ports'].length === 0)) problems.push(`${name}: its published ports are not reset`);
    const env = (mine['environment'] ?? {}) as Record<string, unknown>;
    if (service.environment?.['KAFKA_BROKERS'] !== undefined && env['KAFKA_BROKERS'] !== '127.0.0.1:36092') problems.push(`${name}: KAFKA_BROKERS is not the override's Kafka`);
    if (service.environment?.['S3_ENDPOINT'] !== undefined && env['S3_ENDPOINT'] !== 'http://127.0.0.1:36000') problems.push(`${name}: S3_ENDPOINT is not the override's S3`);
    const opsPort = typeof env['LOOMWATCH_OPS__PORT'] === 'number' ? env['LOOMWATCH_OPS__PORT'] : undefined;
    const health = JSON.stringify((mine['healthcheck'] as { test?: unknown } | undefined)?.test ?? '');
    if (opsPort !== undefined && !health.includes(`127.0.0.1:${opsPort}/healthz`)) problems.push(`${name}: its health check does not ask its ops port ${opsPort}`);
  }
  const text = JSON.stringify(override);
  for (const [, port] of text.matchAll(/(?:127\.0\.0\.1|:\/\/|_PORT":)[:"]?(\d{4,5})\b/g)) {
    if (Number(port) < 36_000 || Number(port) > 36_999) problems.push(`port ${port ?? ''} is outside 36000-36999`);
  }
  return problems;
}

describe('deploy/compose/host-network.yml', () => {
  // `!reset` (Compose's tag for "drop what the base file says") read as the plain value.
  const readOverride = (text: string) => parse(text.replaceAll('!reset ', ''), { merge: true }) as { services: Record<string, Record<string, unknown>> };
  const overrideText = readFileSync(join(REPO_ROOT, 'deploy/compose/host-network.yml'), 'utf8');
  const base = Compose.parse(readYaml(COMPOSE_FILE));

  it('is valid Compose, and puts every service on the host network with its ports in 36xxx', () => {
    const override = readOverride(overrideText);
    expect(specErrors(override)).toEqual([]);
    expect(hostOverrideProblems(base, override)).toEqual([]);
    expect(overrideText).toMatch(/^ {4}ports: !reset \[\]$/m);
  });

  it('passes `docker compose config` with docker-compose.yml where Compose is at hand (the plugin, or the one deploy/compose/get-compose.sh built)', ({ skip }) => {
    const built = join(REPO_ROOT, '.loomwatch/tools/compose/docker-compose');
    const compose = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' }).status === 0 ? ['docker', 'compose'] : existsSync(built) ? [built] : undefined;
    if (compose === undefined) skip('no Docker Compose on this machine (the schema test above still ran)');
    const [command = 'docker', ...args] = compose ?? [];
    const files = ['-f', COMPOSE_FILE, '-f', join(REPO_ROOT, 'deploy/compose/host-network.yml')];
    const result = spawnSync(command, [...args, ...files, '--profile', 'api', 'config', '--quiet'], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('an override that leaves a service on the bridge, a port outside 36xxx or a health check on another port is refused', () => {
    const override = readOverride(overrideText);
    const broken = structuredClone(override);
    delete broken.services['alerting']?.['network_mode'];
    broken.services['inference-worker-2'] = { ...broken.services['inference-worker-2'], environment: { ...(broken.services['inference-worker-2']?.['environment'] as object), LOOMWATCH_OPS__PORT: 28464 } };
    expect(hostOverrideProblems(base, broken)).toEqual([
      'inference-worker-2: its health check does not ask its ops port 28464',
      'alerting: not network_mode host',
      'port 28464 is outside 36000-36999',
    ]);
  });
});
