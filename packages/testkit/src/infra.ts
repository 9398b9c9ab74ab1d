import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { infraMode } from './container-settings.js';
import { dropLease, takeLease, underLeaseLock } from './local-leases.js';

/** Where the tests find a Kafka broker and an S3 server. */
export interface Infra {
  source: 'env' | 'containers' | 'local';
  kafkaBrokers: string[];
  s3: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string };
  /** The broker's secured listener (SASL_SSL, SCRAM-SHA-512, the ACLs of deploy/local/kafka/acls.txt): its address, CA and the principals' passwords file. */
  kafkaSecure?: { brokers: string[]; caFile: string; principalsFile: string };
  /** The local development OpenID Connect provider (deploy/local/oidc) and the dashboard's client there. */
  oidc?: { issuer: string; clientId: string; clientSecret: string };
}

export interface InfraHandle {
  infra: Infra;
  /** Stops what this handle started (nothing, when it found the servers running). */
  stop(): Promise<void>;
}

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const INFRA_SCRIPT = join(REPO_ROOT, 'deploy/local/infra.sh');

function cacheDir(env: NodeJS.ProcessEnv): string {
  return env['LOOMWATCH_CACHE'] ?? join(homedir(), '.cache/loomwatch');
}

function localStateDir(env: NodeJS.ProcessEnv): string {
  return env['LOOMWATCH_STATE'] ?? join(cacheDir(env), 'state');
}

/** The ports of the tests' own local instance: apart from infra.sh's defaults (19092, 19093, 19094, 19000, 19080). */
const TEST_INSTANCE_PORTS = { KAFKA_PORT: '28092', KAFKA_CONTROLLER_PORT: '28093', KAFKA_SECURE_PORT: '28094', S3_PORT: '28000', OIDC_PORT: '28080' } as const;

/**
 * infra.sh's settings for the integration tests' own local servers: a state dir
 * (`$LOOMWATCH_CACHE/test-state`) and ports of their own, so no test record reaches the instance
 * that `make demo`, a replay or a person's commands use (`$LOOMWATCH_CACHE/state`, ports 19092…).
 * A variable `env` already sets wins (a CI run that names its own state and ports).
 */
export function testInstanceSettings(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const defaults: Record<string, string> = { LOOMWATCH_STATE: join(cacheDir(env), 'test-state'), ...TEST_INSTANCE_PORTS };
  return Object.fromEntries(Object.entries(defaults).map(([key, value]) => [key, env[key] ?? value]));
}

function oidcFromEnv(env: Record<string, string | undefined>): Infra['oidc'] {
  // infra.sh's env file names them as the dashboard reads them; a run hands them on as DEV_OIDC_*
  // (infraEnv), so a dashboard a test starts gets only the sign-in settings the test gives it.
  const issuer = env['DEV_OIDC_ISSUER'] ?? env['LOOMWATCH_OIDC_ISSUER'];
  const clientId = env['DEV_OIDC_CLIENT_ID'] ?? env['LOOMWATCH_OIDC_CLIENT_ID'];
  const clientSecret = env['DEV_OIDC_CLIENT_SECRET'] ?? env['LOOMWATCH_OIDC_CLIENT_SECRET'];
  return issuer === undefined || clientId === undefined || clientSecret === undefined ? undefined : { issuer, clientId, clientSecret };
}

function infraFromEnv(env: Record<string, string | undefined>, source: Infra['source']): Infra | undefined {
  const brokers = env['KAFKA_BROKERS'];
  const endpoint = env['S3_ENDPOINT'];
  if (brokers === undefined || brokers === '' || endpoint === undefined || endpoint === '') return undefined;
  const secure = env['KAFKA_SECURE_BROKERS'];
  const caFile = env['KAFKA_SECURE_CA_FILE'];
  const principalsFile = env['KAFKA_SECURE_PRINCIPALS_FILE'];
  const oidc = oidcFromEnv(env);
  return {
    source,
    kafkaBrokers: brokers.split(',').map((b) => b.trim()),
    ...(secure === undefined || caFile === undefined || principalsFile === undefined ? {} : { kafkaSecure: { brokers: secure.split(','), caFile, principalsFile } }),
    ...(oidc === undefined ? {} : { oidc }),
    s3: {
      endpoint,
      region: env['S3_REGION'] ?? 'us-east-1',
      accessKeyId: env['S3_ACCESS_KEY_ID'] ?? 'loomwatch',
      secretAccessKey: env['S3_SECRET_ACCESS_KEY'] ?? 'loomwatch-secret',
    },
  };
}

function parseEnvFile(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^\s*(?:export\s+)?([A-Z0-9_]+)=(.*)$/.exec(line);
    if (match?.[1] !== undefined) out[match[1]] = (match[2] ?? '').replace(/^['"]|['"]$/g, '');
  }
  return out;
}

/** Runs `deploy/local/infra.sh <command>` (start, stop, stop-kafka, start-s3, …) on the instance `env` names. */
export function runInfraScript(command: string, env: NodeJS.ProcessEnv = process.env): { ok: boolean; output: string } {
  const result = spawnSync('bash', [INFRA_SCRIPT, command], { encoding: 'utf8', env });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

/**
 * Kafka and S3 in containers from the locally built images (containers.ts), and the development
 * OpenID provider as the local process of the tests' own instance (`infra.sh start-oidc`, node
 * only, under the same lease as startLocal takes: the last run to end stops what a run started).
 */
async function startContainers(env: NodeJS.ProcessEnv): Promise<InfraHandle> {
  const { startServerContainers } = await import('./containers.js');
  const servers = await startServerContainers(REPO_ROOT, env);
  process.stderr.write(`testkit: Kafka (${servers.images.kafka}) and S3 (${servers.images.s3}) in containers, ready in ${(servers.startMs / 1000).toFixed(1)} s\n`);
  const state = localStateDir(env);
  let oidc: Infra['oidc'];
  try {
    oidc = await underLeaseLock(state, () => {
      const started = runInfraScript('start-oidc', env);
      if (!started.ok) throw new Error(`could not start the development OpenID provider (deploy/local/infra.sh start-oidc):\n${started.output}`);
      const envFile = join(state, 'env');
      const found = existsSync(envFile) ? oidcFromEnv(parseEnvFile(envFile)) : undefined;
      if (found === undefined) throw new Error(`deploy/local/infra.sh start-oidc did not write LOOMWATCH_OIDC_ISSUER to ${envFile}`);
      takeLease(state, process.pid, /^infra\.sh: oidc: started/m.test(started.output));
      return found;
    });
  } catch (err) {
    await servers.stop();
    throw err;
  }
  return {
    infra: { source: 'containers', kafkaBrokers: servers.kafkaBrokers, kafkaSecure: servers.kafkaSecure, s3: servers.s3, ...(oidc === undefined ? {} : { oidc }) },
    stop: async () => {
      await servers.stop();
      await underLeaseLock(state, () => {
        if (dropLease(state, process.pid)) runInfraScript('stop', env);
      });
    },
  };
}

/**
 * Starts the local servers of `env`'s instance (infra.sh start: those running are left as they
 * are) under a lease; the handle's stop drops it and stops the servers when this was the last run
 * holding one and a run started them (local-leases.ts).
 */
async function startLocal(env: NodeJS.ProcessEnv, options: StartInfraOptions): Promise<InfraHandle> {
  const state = localStateDir(env);
  const infra = await underLeaseLock(state, () => {
    const started = runInfraScript('start', env);
    if (!started.ok) throw new Error(`could not start the local Kafka and S3 servers:\n${started.output}`);
    const envFile = join(state, 'env');
    const found = existsSync(envFile) ? infraFromEnv(parseEnvFile(envFile), 'local') : undefined;
    if (found === undefined) throw new Error(`deploy/local/infra.sh did not write KAFKA_BROKERS and S3_ENDPOINT to ${envFile}`);
    takeLease(state, process.pid, /^infra\.sh: kafka: started/m.test(started.output));
    return found;
  });
  return {
    infra,
    stop: async () => {
      await underLeaseLock(state, () => {
        if (dropLease(state, process.pid)) runInfraScript(options.discardOnStop === true ? 'reset' : 'stop', env);
      });
    },
  };
}

export interface StartInfraOptions {
  /**
   * Local servers that this run started, and stops as the last run holding them, lose their data
   * (infra.sh reset instead of stop): for the tests' own instance, whose topics would otherwise pile
   * up from run to run (1,245 partition logs on one machine) and slow every later broker start.
   */
  discardOnStop?: boolean;
}

/**
 * Gives the tests a Kafka and an S3 endpoint: `KAFKA_BROKERS` / `S3_ENDPOINT` when set; else the
 * local processes of deploy/local (the default, whether or not a container engine answers); with
 * `LOOMWATCH_INFRA=containers`, Kafka and S3 from the locally built images (containers.ts).
 */
export async function startInfra(env: NodeJS.ProcessEnv = process.env, options: StartInfraOptions = {}): Promise<InfraHandle> {
  // An earlier global setup of the same run exports what it found, and where it came from.
  const inherited = env['LOOMWATCH_INFRA_SOURCE'];
  const fromEnv = infraFromEnv(env, inherited === 'local' || inherited === 'containers' ? inherited : 'env');
  if (fromEnv !== undefined) return { infra: fromEnv, stop: () => Promise.resolve() };
  return infraMode(env) === 'containers' ? startContainers(env) : startLocal(env, options);
}

/** The variables a child process (a service under test) needs to reach the same servers. */
export function infraEnv(infra: Infra): Record<string, string> {
  return {
    LOOMWATCH_INFRA_SOURCE: infra.source,
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    S3_ENDPOINT: infra.s3.endpoint,
    S3_REGION: infra.s3.region,
    S3_ACCESS_KEY_ID: infra.s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: infra.s3.secretAccessKey,
    ...(infra.kafkaSecure === undefined
      ? {}
      : { KAFKA_SECURE_BROKERS: infra.kafkaSecure.brokers.join(','), KAFKA_SECURE_CA_FILE: infra.kafkaSecure.caFile, KAFKA_SECURE_PRINCIPALS_FILE: infra.kafkaSecure.principalsFile }),
    ...(infra.oidc === undefined
      ? {}
      : { DEV_OIDC_ISSUER: infra.oidc.issuer, DEV_OIDC_CLIENT_ID: infra.oidc.clientId, DEV_OIDC_CLIENT_SECRET: infra.oidc.clientSecret }),
  };
}
