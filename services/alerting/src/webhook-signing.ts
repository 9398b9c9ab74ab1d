/**
 * The webhook signature scheme — all a receiver needs to verify and de-duplicate:
 *
 * - `Loomwatch-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`
 *   Several `v1=` entries may appear while a secret is being rotated; any one matching is enough.
 *   Reject when `t` is further than the tolerance from your clock (replays).
 * - `Idempotency-Key: <alertId>.<revision>` — the same for every retry of one alert message;
 *   a receiver that has seen it already answers 2xx and does nothing.
 * - `Content-Type: application/json`, the body is the `Alert` JSON exactly as signed.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'loomwatch-signature';
export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** @defaultValue 300 s either way */
const DEFAULT_TOLERANCE_S = 300;

function hmac(secret: string, timestamp: number, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** The signature header value for `body` signed at `nowMs`, one `v1=` per secret. */
export function signatureHeader(secrets: readonly string[], body: string | Buffer, nowMs: number): string {
  const timestamp = Math.floor(nowMs / 1000);
  return [`t=${timestamp}`, ...secrets.map((secret) => `v1=${hmac(secret, timestamp, body)}`)].join(',');
}

type VerifyResult = { ok: true; timestamp: number } | { ok: false; reason: 'malformed' | 'stale' | 'mismatch' };

/** What a receiver does with the header; exported so our tests and integrators share one reading. */
export function verifySignature(
  secret: string,
  body: string | Buffer,
  header: string | undefined,
  nowMs: number,
  toleranceS = DEFAULT_TOLERANCE_S,
): VerifyResult {
  if (header === undefined) return { ok: false, reason: 'malformed' };
  const parts = header.split(',').map((part) => part.trim().split('=', 2));
  const timestamps = parts.filter(([name]) => name === 't').map(([, value]) => Number(value));
  const signatures = parts.filter(([name, value]) => name === 'v1' && value !== undefined && /^[0-9a-f]{64}$/.test(value));
  const timestamp = timestamps[0];
  if (timestamps.length !== 1 || timestamp === undefined || !Number.isInteger(timestamp) || signatures.length === 0) {
    return { ok: false, reason: 'malformed' };
  }
  if (Math.abs(nowMs / 1000 - timestamp) > toleranceS) return { ok: false, reason: 'stale' };
  const expected = Buffer.from(hmac(secret, timestamp, body), 'hex');
  const match = signatures.some(([, value]) => timingSafeEqual(Buffer.from(value ?? '', 'hex'), expected));
  return match ? { ok: true, timestamp } : { ok: false, reason: 'mismatch' };
}
