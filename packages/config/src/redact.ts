const SECRET_KEY = /(secret|password|passwd|token|credential|private|signingkey|apikey)/i;
const REDACTED = '[redacted]';

/**
 * A copy of `value` with every secret-looking key's value replaced and every password inside a
 * URL masked (a webhook's `https://user:pass@host`), for printing config.
 */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (typeof value === 'string') return redactUrl(value);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [key, SECRET_KEY.test(key) ? REDACTED : redactSecrets(inner)]),
  );
}

/** Secrets embedded in URLs (`http://user:pass@host`) are masked too. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^/@:]+):([^/@]+)@/, '//$1:' + REDACTED + '@');
}
