export interface BackoffOptions {
  /** @defaultValue 200 */
  initialMs?: number;
  /** @defaultValue 5000 */
  maxMs?: number;
}

/** Exponential backoff with full jitter: a random delay in [0, min(max, initial × 2^attempt)]. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const initial = options.initialMs ?? 200;
  const cap = Math.min(options.maxMs ?? 5000, initial * 2 ** Math.max(0, attempt - 1));
  return Math.round(random() * cap);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
