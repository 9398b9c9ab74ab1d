/**
 * No secret reaches a log line: the services run as deployed (their own processes, compiled
 * JavaScript) at trace level, on healthy paths and on the error paths where a credential is at hand
 * (a refused S3 signature, a config error naming the setting, a webhook endpoint that fails, a
 * refused bearer token, a wrong SASL password, a token exchange the identity provider refuses), and
 * every line they print is searched for each secret. Each case first proves its paths were taken.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { processExited, spawnNodeProcess, stopProcess } from './node-process.js';
import { testInfra } from './test-infra.js';

const infra = testInfra();
const dir = mkdtempSync(join(tmpdir(), 'loomwatch-secrets-'));
const run = `secrets-${Date.now()}`;
const WRONG_S3_SECRET = 'wrong-s3-secret-9f3K2xQv7LmN';
const WEBHOOK_SECRET = 'webhook-secret-H7pR4tYe2WqZ';
const CONFIG_SECRET = 'config-error-secret-V5nB8cXs1';
const WEBHOOK_URL_PASSWORD = 'webhook-url-password-Kd93mQ';
const API_TOKEN = 'lw_api-token-secrets-test-R2d7Yq9Lm4Xc';
const WRONG_API_TOKEN = 'lw_wrong-api-token-T8kP3vWz6Ns1';
const WRONG_SASL_PASSWORD = 'wrong-sasl-password-Hc5Jx2Lq8';
const SESSION_SECRET = 'session-secret-of-the-secrets-test-F4gT9wLp2Zx7Qm3V';
const SHORT_SESSION_SECRET = 'short-session-B6yN1';
const TRACE = { LOOMWATCH_LOG__LEVEL: 'trace', LOG_LEVEL: 'trace', LOOMWATCH_OPS__PORT: 0 };
// The run's own topics, made by `loomwatch topics apply --prefix` (the services only check theirs exist).
const PREFIX = `${run}.`;
const TOPICS = { LOOMWATCH_WORKER__INPUT_TOPIC: `${PREFIX}frames.v1`, LOOMWATCH_WORKER__VERDICT_TOPIC: `${PREFIX}verdicts.v1`, LOOMWATCH_WORKER__DEAD_LETTER_TOPIC: `${PREFIX}frames.dlq.v1` };

const log = (name: string): string => join(dir, `${name}.log`);
const lines = (name: string): string[] => readFileSync(log(name), 'utf8').split('\n').filter((line) => line.length > 0);

interface ServiceOptions {
  entry: string;
  args?: string[];
  settings: Record<string, string | number | undefined>;
}

/**
 * Starts a service at trace level, its stdout and stderr in `<name>.log`. `until` waits until `done`
 * says so from the log, or the process exits, or the time is up (the assertions after it say which
 * paths were taken); `stop` ends it and gives its exit code.
 */
function start(name: string, options: ServiceOptions) {
  writeFileSync(log(name), '');
  const child = spawnNodeProcess({ entry: options.entry, args: options.args ?? [], infra, settings: { ...TRACE, ...options.settings }, logFile: log(name) });
  return {
    until: (done: (log: string) => boolean, timeoutMs = 60_000): Promise<void> =>
      vi
        .waitFor(
          () => {
            if (child.exitCode === null && !done(readFileSync(log(name), 'utf8'))) throw new Error(`${name}: not there yet`);
          },
          { timeout: timeoutMs, interval: 250 },
        )
        .catch(() => undefined),
    stop: async (): Promise<number | null> => {
      if (child.exitCode === null) await stopProcess(child);
      await processExited(child);
      return child.exitCode;
    },
  };
}

/** Starts a service, waits until `done` says so from its log (or it exits), then stops it. */
async function runUntil(name: string, options: ServiceOptions, done: (log: string) => boolean, timeoutMs = 60_000): Promise<number | null> {
  const service = start(name, options);
  await service.until(done, timeoutMs);
  return service.stop();
}

/** The lines of these logs that hold any of the secrets, for the assertion's message. */
const leaks = (names: readonly string[], secrets: readonly string[]): string[] =>
  names.flatMap((name) => lines(name).filter((line) => secrets.some((secret) => line.includes(secret))).map((line) => `${name}: ${line.slice(0, 300)}`));

const failed = (text: string): boolean => text.includes('"level":50') || text.includes('"level":60');

/** A port free right now (the dashboard's redirect URL must name its port before it starts). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

describe('secrets in logs', () => {
  it('never prints the S3 secret, a webhook secret or a secret set on the command line, at trace level and on error paths', async () => {
    const s3Secret = infra.s3.secretAccessKey;
    const gateway = { entry: 'services/camera-gateway/dist/main.js', args: ['simulate'] };
    const gatewaySettings = { LOOMWATCH_GATEWAY__TOPIC: `${PREFIX}frames.v1`, LOOMWATCH_SIMULATOR__LINES: 1, LOOMWATCH_SIMULATOR__CAMERAS_PER_LINE: 1, LOOMWATCH_SIMULATOR__FRAMES_PER_CAMERA: 2, LOOMWATCH_SIMULATOR__FPS: 0 };
    const worker = { entry: 'services/inference-worker/dist/main.js' };
    const workerSettings = { ...TOPICS, LOOMWATCH_MODEL: 'draem-random@0.0.1', LOOMWATCH_WORKER__GROUP_ID: `${run}.workers`, LOOMWATCH_INFERENCE__INTRA_OP_NUM_THREADS: 1 };

    expect(await runUntil('topics', { entry: 'services/inference-worker/dist/topics-cli.js', args: ['apply', '--profile', 'dev', '--prefix', PREFIX], settings: {} }, () => false, 60_000), readFileSync(log('topics'), 'utf8')).toBe(0);

    // Healthy: two frames through the gateway and a worker, decided.
    expect(await runUntil('gateway', { ...gateway, settings: gatewaySettings }, () => false, 60_000)).toBe(0);
    await runUntil('worker', { ...worker, settings: workerSettings }, (text) => (text.match(/"msg":"[^"]* (ok|DEFECT) /g) ?? []).length >= 2, 60_000);

    // S3 refuses the signature: the gateway's upload and the worker's start fail with the wrong secret in hand.
    await runUntil('gateway-wrong-secret', { ...gateway, settings: { ...gatewaySettings, S3_SECRET_ACCESS_KEY: WRONG_S3_SECRET } }, (text) => text.includes('"level":50') || text.includes('"level":60'), 60_000);
    await runUntil('worker-wrong-secret', { ...worker, settings: { ...workerSettings, WORKER_ID: 'wrong', S3_SECRET_ACCESS_KEY: WRONG_S3_SECRET } }, (text) => text.includes('"level":50') || text.includes('"level":60'), 60_000);

    // A config error while a secret is set on the command line and in the environment.
    const refused = await runUntil('worker-config-error', { ...worker, args: ['--set', `s3.secretAccessKey=${CONFIG_SECRET}`, '--set', 'worker.maxInflight=4'], settings: { ...workerSettings, S3_SECRET_ACCESS_KEY: CONFIG_SECRET } }, () => false, 30_000);
    expect(refused).toBe(2);

    // A webhook endpoint that refuses every delivery (nothing listens on port 9), for an alert the clock raises.
    const alertingConfig = join(dir, 'alerting.yaml');
    writeFileSync(
      alertingConfig,
      [
        'alerting:',
        `  groupId: ${run}.alerting`,
        `  verdictTopic: ${PREFIX}verdicts.v1`,
        `  deadLetterTopic: ${PREFIX}frames.dlq.v1`,
        "  frameTopic: ''",
        "  driftTopic: ''",
        `  alertTopic: ${PREFIX}alerts.v1`,
        `  webhookDeadLetterTopic: ${PREFIX}alerts.webhooks.dlq.v1`,
        '  tickMs: 250',
        'rules:',
        "  - { name: silent, kind: no-frames, afterMs: 500, match: { lines: [silent-line] }, schedule: [{ start: '00:00', end: '23:59' }] }",
        'webhooks:',
        `  - { name: mes, url: 'http://127.0.0.1:9/hook', secrets: ['${WEBHOOK_SECRET}'], maxAttempts: 2, initialBackoffMs: 10 }`,
      ].join('\n'),
    );
    await runUntil('alerting', { entry: 'services/alerting/dist/main.js', args: ['--config', alertingConfig], settings: {} }, (text) => text.includes('webhook dead-lettered'), 60_000);
    // A webhook URL with a password in it: refused at start, the password repeated nowhere.
    const urlWithPassword = join(dir, 'alerting-url-password.yaml');
    writeFileSync(urlWithPassword, readFileSync(alertingConfig, 'utf8').replace('http://127.0.0.1:9/hook', `http://mes:${WEBHOOK_URL_PASSWORD}@127.0.0.1:9/hook`));
    expect(await runUntil('alerting-url-password', { entry: 'services/alerting/dist/main.js', args: ['--config', urlWithPassword], settings: {} }, () => false, 30_000)).toBe(2);
    expect(lines('alerting-url-password').join('\n')).toMatch(/webhooks\.0\.url: remove the user and password from the URL/);

    const names = ['topics', 'gateway', 'worker', 'gateway-wrong-secret', 'worker-wrong-secret', 'worker-config-error', 'alerting', 'alerting-url-password'];
    const all = names.flatMap((name) => lines(name).map((line) => ({ name, line })));
    // The paths were taken: every service at trace level, frames decided, errors from S3's refusal and the webhook, the config error.
    const configured = all.filter(({ line }) => line.includes('"msg":"effective configuration"'));
    expect(configured.length).toBe(5);
    for (const { line } of configured) expect(line).toContain('"log":{"level":"trace"');
    expect(lines('worker').filter((line) => / (ok|DEFECT) /.test(line)).length).toBeGreaterThanOrEqual(2);
    expect(lines('gateway-wrong-secret').concat(lines('worker-wrong-secret')).filter((line) => /"level":(50|60)/.test(line)).length).toBeGreaterThan(1);
    expect(lines('worker-config-error').join('\n')).toContain('maxInflight');
    expect(lines('alerting').join('\n')).toContain('webhook dead-lettered');
    for (const secret of [s3Secret, WRONG_S3_SECRET, WEBHOOK_SECRET, CONFIG_SECRET, WEBHOOK_URL_PASSWORD]) {
      expect(all.filter(({ line }) => line.includes(secret)).map(({ name, line }) => `${name}: ${line.slice(0, 300)}`)).toEqual([]);
    }
  });

  it('never prints the inference API token, on refused and accepted calls', async () => {
    const api = start('api', { entry: 'services/inference-api/dist/main.js', settings: { LOOMWATCH_API_TOKEN: API_TOKEN, LOOMWATCH_API__PORT: 0, LOOMWATCH_MODEL: 'draem-random@0.0.1' } });
    let port: number | undefined;
    await api.until((text) => {
      port = (JSON.parse(text.split('\n').find((line) => line.includes('"msg":"inference API listening"')) ?? '{}') as { port?: number }).port;
      return port !== undefined;
    });
    expect(port, `the API did not start: ${readFileSync(log('api'), 'utf8').slice(-2000)}`).toBeDefined();
    const base = `http://127.0.0.1:${port}`;
    const image = { method: 'POST', body: 'not a png', headers: { 'content-type': 'image/png' } };
    const refused = await fetch(`${base}/v1/infer`, { ...image, headers: { ...image.headers, authorization: `Bearer ${WRONG_API_TOKEN}` } });
    const notAnImage = await fetch(`${base}/v1/infer`, { ...image, headers: { ...image.headers, authorization: `Bearer ${API_TOKEN}` } });
    const missing = await fetch(`${base}/v1/results/00000000000000000000000000000000/overlay.jpg`, { headers: { authorization: `Bearer ${API_TOKEN}` } });
    await api.stop();

    // The paths were taken: a refused token, then a body that is no image and an unknown result behind an accepted one, at trace level.
    expect([refused.status, notAnImage.status, missing.status]).toEqual([401, 415, 404]);
    expect(lines('api').find((line) => line.includes('"msg":"effective configuration"'))).toContain('"log":{"level":"trace"');
    expect(leaks(['api'], [API_TOKEN, WRONG_API_TOKEN])).toEqual([]);
  });

  it('never prints a Kafka SASL password, connected or refused', async () => {
    const secure = infra.kafkaSecure;
    expect(secure, 'the local broker has no secured listener (deploy/local/infra.sh start makes one)').toBeDefined();
    const { brokers, caFile, principalsFile } = secure ?? { brokers: [], caFile: '', principalsFile: '' };
    const password = /^LOOMWATCH_KAFKA_PASSWORD_DRIFT=(.+)$/m.exec(readFileSync(principalsFile, 'utf8'))?.[1] ?? '';
    expect(password.length).toBeGreaterThan(8);
    const drift = (saslPassword: string) => ({
      entry: 'services/drift-monitor/dist/main.js',
      settings: {
        KAFKA_BROKERS: brokers.join(','),
        KAFKA_TLS_CA_FILE: caFile,
        KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
        KAFKA_SASL_USERNAME: 'drift',
        KAFKA_SASL_PASSWORD: saslPassword,
        // Its own group (the principal may use loomwatch-drift*), from the end of verdicts.v1: it judges nothing here.
        LOOMWATCH_DRIFT__GROUP_ID: `loomwatch-drift.${run}`,
      },
    });
    await runUntil('drift-sasl', drift(password), (text) => text.includes('"msg":"drift monitor started"'));
    await runUntil('drift-wrong-sasl', drift(WRONG_SASL_PASSWORD), failed);

    expect(lines('drift-sasl').some((line) => line.includes('"msg":"drift monitor started"')), readFileSync(log('drift-sasl'), 'utf8').slice(-2000)).toBe(true);
    expect(lines('drift-wrong-sasl').some((line) => /"level":(50|60)/.test(line) && /BROKER_AUTH_FAILED|SASL|authentication/i.test(line))).toBe(true);
    expect(leaks(['drift-sasl', 'drift-wrong-sasl'], [password, WRONG_SASL_PASSWORD])).toEqual([]);
  });

  it('never prints the OIDC client secret or the session secret: sign-in started, a code the provider refuses, a short session secret', async () => {
    const oidc = infra.oidc;
    expect(oidc, 'no development OpenID Connect provider in the infra env (deploy/local/infra.sh start writes LOOMWATCH_OIDC_ISSUER)').toBeDefined();
    const { issuer, clientId, clientSecret } = oidc ?? { issuer: '', clientId: '', clientSecret: '' };
    const port = await freePort();
    const dashboard = (sessionSecret: string) => ({
      entry: 'services/dashboard/dist/main.js',
      settings: {
        LOOMWATCH_DASHBOARD__PORT: port,
        LOOMWATCH_OIDC_ISSUER: issuer,
        LOOMWATCH_OIDC_CLIENT_ID: clientId,
        LOOMWATCH_OIDC_CLIENT_SECRET: clientSecret,
        LOOMWATCH_AUTH__OIDC__REDIRECT_URL: `http://127.0.0.1:${port}/auth/callback`,
        LOOMWATCH_SESSION_SECRET: sessionSecret,
      },
    });

    const service = start('dashboard-oidc', dashboard(SESSION_SECRET));
    await service.until((text) => text.includes('"msg":"dashboard listening"'));
    const base = `http://127.0.0.1:${port}`;
    const login = await fetch(`${base}/auth/login`, { redirect: 'manual' });
    const authorize = new URL(login.headers.get('location') ?? base);
    const cookie = (login.headers.getSetCookie()[0] ?? '').split(';')[0] ?? '';
    // The provider refuses this code at its token endpoint, where the dashboard authenticates with its client secret.
    const callback = await fetch(`${base}/auth/callback?code=not-a-code-it-issued&state=${authorize.searchParams.get('state') ?? ''}&iss=${encodeURIComponent(issuer)}`, { headers: { cookie }, redirect: 'manual' });
    const refusal = await callback.text();
    await service.stop();
    const refused = await runUntil('dashboard-short-session', dashboard(SHORT_SESSION_SECRET), () => false, 30_000);

    expect(login.status).toBe(302);
    expect(authorize.origin).toBe(new URL(issuer).origin);
    expect(cookie).not.toBe('');
    // LOGIN_FAILED (not LOGIN_EXPIRED): the callback got past the login cookie to the provider's token endpoint.
    expect(callback.status, refusal).toBe(401);
    expect(refusal).toContain('LOGIN_FAILED');
    expect(lines('dashboard-oidc').find((line) => line.includes('"msg":"effective configuration"'))).toContain('"level":"trace"');
    expect(refused).toBe(2);
    expect(lines('dashboard-short-session').join('\n')).toMatch(/sessionSecret.*at least 32 characters/);
    expect(leaks(['dashboard-oidc', 'dashboard-short-session'], [clientSecret, SESSION_SECRET, SHORT_SESSION_SECRET])).toEqual([]);
  });
});
