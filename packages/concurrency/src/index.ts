/**
 * Small helpers for doing things at a pace: `Semaphore` bounds how many tasks run at once,
 * `backoffDelay` spaces retries, `sleep` waits. No dependencies; any package or service may use them.
 */
export { backoffDelay, sleep, type BackoffOptions } from './backoff.js';
export { Semaphore } from './semaphore.js';
