import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { deployedServices, dockerfileProblems, type DeployedService } from './deploy-facts.js';
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
      .object({ Statement: z.array(z.object({ Effect: z.literal('Allow'), Action: z.array(z.string()) })) })
      .parse(JSON.parse(readFileSync(join(REPO_ROOT, 'deploy/docker/s3-readonly-policy.json'), 'utf8')));
    expect(policy.Statement.flatMap((statement) => statement.Action).sort()).toEqual(['s3:GetBucketLocation', 's3:GetObject', 's3:ListAllMyBuckets']);
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
