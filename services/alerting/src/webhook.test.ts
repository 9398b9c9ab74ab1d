import { afterEach, describe, expect, it } from 'vitest';
import type { Alert } from '@loomwatch/contracts';
import { deliverWebhook, endpointWants, WebhookEndpoint } from './webhook.js';
import { startWebhookReceiver } from './testing/webhook-receiver.js';
import { signatureHeader, verifySignature } from './webhook-signing.js';

const SECRET = 'a-webhook-secret-of-some-length';
const NOW = Date.parse('2026-11-23T08:00:00.000Z');

const alert: Alert = {
  alertId: '0123456789abcdef0123456789abcdef',
  dedupKey: 'burst:line-1:cam-1',
  rule: 'burst',
  kind: 'burst',
  status: 'open',
  severity: 'critical',
  stopLine: true,
  lineId: 'line-1',
  cameraId: 'cam-1',
  message: '3 defects in the last 5 frames',
  openedAt: new Date(NOW).toISOString(),
  updatedAt: new Date(NOW).toISOString(),
  revision: 0,
  frameIds: ['f1', 'f2', 'f3'],
  anomalyMaps: [],
};

const startReceiver = (failures: (number | 'drop')[] = []) => startWebhookReceiver(SECRET, failures);

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

function endpoint(url: string, extra: Record<string, unknown> = {}): WebhookEndpoint {
  return WebhookEndpoint.parse({ name: 'mes', url, secrets: [SECRET], maxAttempts: 4, ...extra });
}

const delays: number[] = [];
const deps = {
  fetch: globalThis.fetch,
  now: () => Date.now(),
  sleep: (ms: number) => {
    delays.push(ms);
    return Promise.resolve();
  },
  random: () => 0.5,
};

describe('webhook signature', () => {
  it('verifies a body signed with the same secret and rejects a tampered body', () => {
    const raw = JSON.stringify(alert);
    const header = signatureHeader([SECRET], raw, NOW);
    expect(verifySignature(SECRET, raw, header, NOW)).toEqual({ ok: true, timestamp: NOW / 1000 });
    expect(verifySignature(SECRET, raw.replace('critical', 'info'), header, NOW)).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifySignature('another-secret-altogether', raw, header, NOW)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('rejects a signature older than the tolerance (a replay) and a malformed header', () => {
    const raw = JSON.stringify(alert);
    expect(verifySignature(SECRET, raw, signatureHeader([SECRET], raw, NOW - 301_000), NOW)).toEqual({ ok: false, reason: 'stale' });
    expect(verifySignature(SECRET, raw, 'v1=abc', NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifySignature(SECRET, raw, undefined, NOW)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('accepts either key while a secret is being rotated', () => {
    const raw = JSON.stringify(alert);
    const header = signatureHeader(['old-secret-0123456789', SECRET], raw, NOW);
    expect(verifySignature(SECRET, raw, header, NOW).ok).toBe(true);
    expect(verifySignature('old-secret-0123456789', raw, header, NOW).ok).toBe(true);
  });
});

describe('webhook delivery', () => {
  it('a receiver verifies the signature and sees the alert once despite failures, with the same idempotency key on every try', async () => {
    const receiver = await startReceiver([503, 'drop', 429]);
    closers.push(receiver.close);
    delays.length = 0;
    const outcome = await deliverWebhook(endpoint(receiver.url), alert, deps);
    expect(outcome).toEqual({ delivered: true, attempts: 4, status: 200 });
    expect(receiver.requests.map((request) => request.key)).toEqual(Array(4).fill(`${alert.alertId}.0`));
    expect(receiver.requests.every((request) => request.verified)).toBe(true);
    expect([...receiver.seen.values()]).toEqual([alert]);
    // Backoff doubles per attempt: 500, 1000, 2000 ms steps, jittered into [10 %, 100 %].
    expect(delays).toEqual([275, 550, 1100]);
  });

  it('a redelivery of a delivered message is de-duplicated by the receiver', async () => {
    const receiver = await startReceiver();
    closers.push(receiver.close);
    await deliverWebhook(endpoint(receiver.url), alert, deps);
    await deliverWebhook(endpoint(receiver.url), alert, deps);
    expect(receiver.requests).toHaveLength(2);
    expect(receiver.seen.size).toBe(1);
  });

  it('gives up after the last try with the reason, for the caller to dead-letter', async () => {
    const receiver = await startReceiver([500, 500, 500, 500]);
    closers.push(receiver.close);
    expect(await deliverWebhook(endpoint(receiver.url), alert, deps)).toEqual({ delivered: false, attempts: 4, lastError: 'HTTP 500', status: 500 });
  });

  it('does not retry a message the receiver refuses (401 for a wrong secret)', async () => {
    const receiver = await startReceiver();
    closers.push(receiver.close);
    const wrong = endpoint(receiver.url, { secrets: ['not-the-receivers-secret'] });
    expect(await deliverWebhook(wrong, alert, deps)).toEqual({ delivered: false, attempts: 1, lastError: 'HTTP 401', status: 401 });
    expect(receiver.seen.size).toBe(0);
  });

  it('gives up on an unreachable endpoint after the last try', async () => {
    const receiver = await startReceiver();
    await receiver.close();
    const outcome = await deliverWebhook(endpoint(receiver.url, { maxAttempts: 2 }), alert, deps);
    expect(outcome).toMatchObject({ delivered: false, attempts: 2 });
  });

  it('never puts the password of a webhook URL into the outcome that is logged and dead-lettered', async () => {
    // Bypasses the schema, which refuses such a URL: what fetch says about it is still masked.
    const withPassword = { ...endpoint('http://127.0.0.1:9/hook', { maxAttempts: 1 }), url: 'http://mes:hunter2-webhook-pass@127.0.0.1:9/hook' };
    const outcome = await deliverWebhook(withPassword, alert, deps);
    expect(outcome).toMatchObject({ delivered: false, attempts: 1 });
    const lastError = outcome.delivered ? '' : outcome.lastError;
    expect(lastError).toContain('http://mes:[redacted]@127.0.0.1:9/hook');
    expect(lastError).not.toContain('hunter2-webhook-pass');
  });

  it('refuses a webhook URL with credentials in it, without repeating them', () => {
    const result = WebhookEndpoint.safeParse({ name: 'mes', url: 'https://mes:hunter2-webhook-pass@mes.example.com/hook', secrets: [SECRET] });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)).toEqual([expect.stringMatching(/^url: remove the user and password from the URL/)]);
    expect(JSON.stringify(result.error?.issues)).not.toContain('hunter2-webhook-pass');
  });

  it('sends an endpoint only the lines and severities it asked for', () => {
    const picky = endpoint('http://127.0.0.1:1/x', { lines: ['line-2'], minSeverity: 'critical' });
    expect(endpointWants(picky, alert)).toBe(false);
    expect(endpointWants(picky, { ...alert, lineId: 'line-2' })).toBe(true);
    expect(endpointWants(picky, { ...alert, lineId: 'line-2', severity: 'warning' })).toBe(false);
  });
});
