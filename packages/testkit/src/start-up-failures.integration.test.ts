/**
 * A service that cannot start says why in one line on stderr — `loomwatch <command>: <CODE>: what
 * is wrong and what to do` — and exits 1, for every class of start-up failure met on the real
 * local broker and S3: no broker answering, a refused login (at once: no retries), a missing ACL,
 * S3 refusing the credentials, no model in the registry, a port in use, a missing topic. The JSON
 * log on stdout keeps the whole cause, at debug level.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtEntry } from './build.js';
import { REPO_ROOT, infraEnv } from './infra.js';
import { testInfra } from './test-infra.js';

const infra = testInfra();
const CLI = 'deploy/cli/bin/loomwatch';
const run = `start-up-${Date.now()}`;

interface Failure {
  status: number | null;
  stderr: string;
  stdout: string;
  elapsedMs: number;
}

/** Runs `loomwatch args` on the test run's broker and S3 with these settings on top, at debug level, to its end. */
function loomwatch(args: readonly string[], settings: Record<string, string> = {}): Promise<Failure> {
  const started = Date.now();
  const env = { ...process.env, ...infraEnv(infra), LOG_LEVEL: 'debug', LOOMWATCH_LOG__LEVEL: 'debug', LOOMWATCH_OPS__PORT: '0', ...settings };
  const child = spawn(process.execPath, [builtEntry(CLI), ...args], { cwd: REPO_ROOT, env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stderr, stdout, elapsedMs: Date.now() - started })));
}

/** Exit 1, one short line on stderr naming the command and the code, and the whole cause at debug level in the log. */
function expectOneLine(result: Failure, command: string, code: string, problem: RegExp): void {
  expect(result.status, result.stderr).toBe(1);
  const lines = result.stderr.split('\n').filter((line) => line.length > 0);
  expect(lines).toEqual([expect.stringMatching(new RegExp(`^loomwatch ${command}: ${code}: `))]);
  expect(lines[0]).toMatch(problem);
  expect(lines[0]?.length).toBeLessThan(300);
  const logged = result.stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { level: number; msg: string; code?: string; err?: unknown });
  expect(logged.filter((record) => record.level === 60).map((record) => [record.code, record.msg])).toEqual([[code, expect.any(String)]]);
  expect(logged.some((record) => record.level === 20 && record.msg === 'the failure in full' && record.err !== undefined), result.stdout.slice(-2000)).toBe(true);
}

/** The local broker's secured listener as `username`: its brokers, CA and SASL settings. */
function secured(username: string, password?: string): Record<string, string> {
  const secure = infra.kafkaSecure;
  if (secure === undefined) throw new Error('the local broker has no secured listener (deploy/local/infra.sh start makes one)');
  const own = new RegExp(`^LOOMWATCH_KAFKA_PASSWORD_${username.toUpperCase()}=(.+)$`, 'm').exec(readFileSync(secure.principalsFile, 'utf8'))?.[1] ?? '';
  return { KAFKA_BROKERS: secure.brokers.join(','), KAFKA_TLS_CA_FILE: secure.caFile, KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password ?? own };
}

describe('a service that cannot start', () => {
  it('refused by the broker for a wrong password: BROKER_AUTH_FAILED at once, without retrying', async () => {
    const result = await loomwatch(['drift'], secured('drift', 'not-the-password'));
    expectOneLine(result, 'drift', 'BROKER_AUTH_FAILED', /principal drift: SASL authentication failed\. Check kafka\.sasl/);
    // The client counts its attempts in the cause ("metadata failed 11 times." when it retried).
    expect(result.stdout).not.toMatch(/failed \d+ times/);
    expect(result.elapsedMs).toBeLessThan(5000);
  });

  it('on the secured listener without TLS: BROKER_AUTH_FAILED naming kafka.tls', async () => {
    const { KAFKA_TLS_CA_FILE: _ca, ...plaintext } = secured('drift');
    expectOneLine(await loomwatch(['drift'], plaintext), 'drift', 'BROKER_AUTH_FAILED', /kafka\.tls/);
  });

  it('outside its ACLs (a consumer group the principal may not use): BROKER_ACCESS_DENIED naming the principal', async () => {
    const result = await loomwatch(['drift', '--set', `drift.groupId=not-drift.${run}`], secured('drift'));
    expectOneLine(result, 'drift', 'BROKER_ACCESS_DENIED', /principal drift \(GROUP_AUTHORIZATION_FAILED\): grant it the ACL/);
  });

  it('with no broker answering: BROKER_UNAVAILABLE naming the brokers, after its retries', async () => {
    const result = await loomwatch(['alerting'], { KAFKA_BROKERS: '127.0.0.1:1' });
    expectOneLine(result, 'alerting', 'BROKER_UNAVAILABLE', /no Kafka broker answers at 127\.0\.0\.1:1 .*: start the brokers/);
  }, 60_000);

  it('refused by S3 (a wrong secret key): STORAGE_UNAVAILABLE saying to check the credentials', async () => {
    // The gateway checks its topic before S3: a topic of this run's own.
    const prefix = `${run}.`;
    const topics = spawnSync(process.execPath, [builtEntry(CLI), 'topics', 'apply', '--profile', 'dev', '--prefix', prefix], { cwd: REPO_ROOT, env: { ...process.env, ...infraEnv(infra) }, encoding: 'utf8', timeout: 60_000 });
    expect(topics.status, topics.stderr).toBe(0);
    const result = await loomwatch(['gateway', 'simulate'], { S3_SECRET_ACCESS_KEY: 'not-the-secret', LOOMWATCH_GATEWAY__TOPIC: `${prefix}frames.v1` });
    expectOneLine(result, 'gateway', 'STORAGE_UNAVAILABLE', /HTTP 403.*credentials/);
    expect(result.stdout + result.stderr).not.toContain('not-the-secret');
  }, 60_000);

  it('with no model in the registry: MODEL_NOT_FOUND naming the registry', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'loomwatch-empty-registry-'));
    const result = await loomwatch(['api', '--set', 'api.auth=none', '--set', 'api.port=0', '--set', `inference.registryRoot=${empty}`]);
    expectOneLine(result, 'api', 'MODEL_NOT_FOUND', new RegExp(`no model in the registry ${empty} has a production version: promote one`));
  });

  it('on a port in use: CONFIG_INVALID naming the address and the setting to change', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = holder.address() as AddressInfo;
      const result = await loomwatch(['api', '--set', 'api.auth=none', '--set', 'model=draem-random@0.0.1', '--set', `api.port=${port}`]);
      expectOneLine(result, 'api', 'CONFIG_INVALID', new RegExp(`127\\.0\\.0\\.1:${port} is already in use: stop what holds it, or give this command another port`));
    } finally {
      holder.close();
    }
  });

  it('without its topics: CONFIG_INVALID naming them and `loomwatch topics apply`', async () => {
    const result = await loomwatch(['drift', '--set', `drift.verdictTopic=${run}.missing`]);
    expect(result.status, result.stderr).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^loomwatch drift: CONFIG_INVALID: topics? .*${run}\\.missing does not exist.*: create the topics with \`loomwatch topics apply\``))]);
  });
});
