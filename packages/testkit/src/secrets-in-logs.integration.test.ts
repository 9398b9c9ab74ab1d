/**
 * No secret reaches a log line: the services run as deployed (their own processes, compiled
 * JavaScript) at trace level, on healthy paths and on the error paths where a credential is at hand
 * (a refused S3 signature, a config error naming the setting, a webhook endpoint that fails), and
 * every line they print is searched for each secret.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { processExited, spawnNodeProcess, stopProcess } from './node-process.js';
import { testInfra } from './test-infra.js';

const infra = testInfra();
const dir = mkdtempSync(join(tmpdir(), 'loomwatch-secrets-'));
const run = `secrets-${Date.now()}`;
const WRONG_S3_SECRET = 'wrong-s3-secret-9f3K2xQv7LmN';
const WEBHOOK_SECRET = 'webhook-secret-H7pR4tYe2WqZ';
const CONFIG_SECRET = 'config-error-secret-V5nB8cXs1';
const TRACE = { LOOMWATCH_LOG__LEVEL: 'trace', LOG_LEVEL: 'trace', LOOMWATCH_OPS__PORT: 0 };
const TOPICS = { LOOMWATCH_WORKER__INPUT_TOPIC: `${run}.frames`, LOOMWATCH_WORKER__VERDICT_TOPIC: `${run}.verdicts`, LOOMWATCH_WORKER__DEAD_LETTER_TOPIC: `${run}.dlq` };

const log = (name: string): string => join(dir, `${name}.log`);
const lines = (name: string): string[] => readFileSync(log(name), 'utf8').split('\n').filter((line) => line.length > 0);

/** Starts a service, waits until `done` says so from its log (or it exits), then stops it. */
async function runUntil(name: string, options: { entry: string; args?: string[]; settings: Record<string, string | number> }, done: (log: string) => boolean, timeoutMs = 60_000): Promise<number | null> {
  writeFileSync(log(name), '');
  const child = spawnNodeProcess({ entry: options.entry, args: options.args ?? [], infra, settings: { ...TRACE, ...options.settings }, logFile: log(name) });
  const deadline = Date.now() + timeoutMs;
  while (child.exitCode === null && !done(readFileSync(log(name), 'utf8'))) {
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  if (child.exitCode === null) await stopProcess(child);
  await processExited(child);
  return child.exitCode;
}

describe('secrets in logs', () => {
  it('never prints the S3 secret, a webhook secret or a secret set on the command line, at trace level and on error paths', async () => {
    const s3Secret = infra.s3.secretAccessKey;
    const gateway = { entry: 'services/camera-gateway/dist/main.js', args: ['simulate'] };
    const gatewaySettings = { LOOMWATCH_GATEWAY__TOPIC: `${run}.frames`, LOOMWATCH_SIMULATOR__LINES: 1, LOOMWATCH_SIMULATOR__CAMERAS_PER_LINE: 1, LOOMWATCH_SIMULATOR__FRAMES_PER_CAMERA: 2, LOOMWATCH_SIMULATOR__FPS: 0 };
    const worker = { entry: 'services/inference-worker/dist/main.js' };
    const workerSettings = { ...TOPICS, LOOMWATCH_MODEL: 'draem-random@0.0.1', LOOMWATCH_WORKER__GROUP_ID: `${run}.workers`, LOOMWATCH_INFERENCE__INTRA_OP_NUM_THREADS: 1 };

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
        `  verdictTopic: ${run}.verdicts`,
        `  deadLetterTopic: ${run}.dlq`,
        "  frameTopic: ''",
        "  driftTopic: ''",
        `  alertTopic: ${run}.alerts`,
        `  webhookDeadLetterTopic: ${run}.webhook-dlq`,
        '  tickMs: 250',
        'rules:',
        "  - { name: silent, kind: no-frames, afterMs: 500, match: { lines: [silent-line] }, schedule: [{ start: '00:00', end: '23:59' }] }",
        'webhooks:',
        `  - { name: mes, url: 'http://127.0.0.1:9/hook', secrets: ['${WEBHOOK_SECRET}'], maxAttempts: 2, initialBackoffMs: 10 }`,
      ].join('\n'),
    );
    await runUntil('alerting', { entry: 'services/alerting/dist/main.js', args: ['--config', alertingConfig], settings: {} }, (text) => text.includes('webhook dead-lettered'), 60_000);

    const names = ['gateway', 'worker', 'gateway-wrong-secret', 'worker-wrong-secret', 'worker-config-error', 'alerting'];
    const all = names.flatMap((name) => lines(name).map((line) => ({ name, line })));
    // The paths were taken: every service at trace level, frames decided, errors from S3's refusal and the webhook, the config error.
    const configured = all.filter(({ line }) => line.includes('"msg":"effective configuration"'));
    expect(configured.length).toBe(5);
    for (const { line } of configured) expect(line).toContain('"log":{"level":"trace"');
    expect(lines('worker').filter((line) => / (ok|DEFECT) /.test(line)).length).toBeGreaterThanOrEqual(2);
    expect(lines('gateway-wrong-secret').concat(lines('worker-wrong-secret')).filter((line) => /"level":(50|60)/.test(line)).length).toBeGreaterThan(1);
    expect(lines('worker-config-error').join('\n')).toContain('maxInflight');
    expect(lines('alerting').join('\n')).toContain('webhook dead-lettered');
    for (const secret of [s3Secret, WRONG_S3_SECRET, WEBHOOK_SECRET, CONFIG_SECRET]) {
      expect(all.filter(({ line }) => line.includes(secret)).map(({ name, line }) => `${name}: ${line.slice(0, 300)}`)).toEqual([]);
    }
  });
});
