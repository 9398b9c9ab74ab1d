/**
 * Webhook delivery of one alert message to one endpoint: signed POST, retries with backoff on
 * transient failures (network, timeout, 408, 429, 5xx), and a final outcome either way — delivered
 * or given up (the caller dead-letters it). Retries carry the same idempotency key and body.
 */
import { z } from 'zod';
import { redactUrl } from '@loomwatch/config';
import { Id, Severity, type Alert } from '@loomwatch/contracts';
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, signatureHeader } from './webhook-signing.js';

const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

export const WebhookEndpoint = z.strictObject({
  name: Id.max(64),
  /** The receiver; it authenticates us by the signature, never by credentials in the URL. */
  url: z.url({ protocol: /^https?$/ }).refine((url) => {
    const parsed = new URL(url);
    return parsed.username === '' && parsed.password === '';
  }, 'remove the user and password from the URL: fetch refuses to send them, and the receiver checks the Loomwatch-Signature made with `secrets` instead'),
  /** HMAC keys; the first signs, all sign while a key is being rotated. Redacted when printed. */
  secrets: z.array(z.string().min(16, 'use at least 16 characters')).min(1),
  /** Only alerts of these lines (all when empty). @defaultValue [] */
  lines: z.array(Id).default([]),
  /** Only alerts at least this severe. @defaultValue 'info' */
  minSeverity: Severity.default('info'),
  /** Attempts before the message is dead-lettered. @defaultValue 6 */
  maxAttempts: z.int().positive().max(50).default(6),
  /** @defaultValue 500 */
  initialBackoffMs: z.int().positive().default(500),
  /** @defaultValue 30000 */
  maxBackoffMs: z.int().positive().default(30_000),
  /** Per attempt. @defaultValue 5000 */
  timeoutMs: z.int().positive().default(5000),
});
export type WebhookEndpoint = z.infer<typeof WebhookEndpoint>;

export function endpointWants(endpoint: WebhookEndpoint, alert: Alert): boolean {
  if (endpoint.lines.length > 0 && !endpoint.lines.includes(alert.lineId)) return false;
  return SEVERITY_RANK[alert.severity] >= SEVERITY_RANK[endpoint.minSeverity];
}

export function idempotencyKey(alert: Alert): string {
  return `${alert.alertId}.${alert.revision ?? (alert.status === 'open' ? 0 : 1)}`;
}

type DeliveryOutcome =
  | { delivered: true; attempts: number; status: number }
  | { delivered: false; attempts: number; lastError: string; status?: number };

interface DeliveryDeps {
  fetch: typeof globalThis.fetch;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** For the jitter. @defaultValue Math.random */
  random?: () => number;
  /** Stops retrying (shutdown); the outcome is then not final and the caller must not record it. */
  alive?: () => boolean;
}

function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Full-jitter exponential backoff, at least a tenth of the step so retries never hammer. */
function backoff(endpoint: WebhookEndpoint, attempt: number, random: () => number): number {
  const cap = Math.min(endpoint.maxBackoffMs, endpoint.initialBackoffMs * 2 ** (attempt - 1));
  return Math.round(cap * (0.1 + 0.9 * random()));
}

/** An error's text with the endpoint URL's credentials masked: fetch names the URL it refuses. */
function redactedError(err: unknown, url: string): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return redactUrl(text.replaceAll(url, redactUrl(url)));
}

export class DeliveryInterrupted extends Error {
  override readonly name = 'DeliveryInterrupted';
}

export async function deliverWebhook(endpoint: WebhookEndpoint, alert: Alert, deps: DeliveryDeps): Promise<DeliveryOutcome> {
  const body = JSON.stringify(alert);
  const random = deps.random ?? Math.random;
  let lastError = '';
  let lastStatus: number | undefined;
  for (let attempt = 1; attempt <= endpoint.maxAttempts; attempt++) {
    if (deps.alive !== undefined && !deps.alive()) throw new DeliveryInterrupted(`stopped before attempt ${attempt}`);
    try {
      const response = await deps.fetch(endpoint.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: signatureHeader(endpoint.secrets, body, deps.now()),
          [IDEMPOTENCY_HEADER]: idempotencyKey(alert),
          'user-agent': 'loomwatch-alerting/1',
        },
        body,
        signal: AbortSignal.timeout(endpoint.timeoutMs),
        redirect: 'error',
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return { delivered: true, attempts: attempt, status: response.status };
      lastStatus = response.status;
      lastError = `HTTP ${response.status}`;
      // A 4xx other than 408/429 will not change on retry: the receiver refuses this message.
      if (!retryableStatus(response.status)) return { delivered: false, attempts: attempt, lastError, status: response.status };
    } catch (err) {
      lastError = redactedError(err, endpoint.url);
      lastStatus = undefined;
    }
    if (attempt < endpoint.maxAttempts) await deps.sleep(backoff(endpoint, attempt, random));
  }
  return lastStatus === undefined
    ? { delivered: false, attempts: endpoint.maxAttempts, lastError }
    : { delivered: false, attempts: endpoint.maxAttempts, lastError, status: lastStatus };
}
