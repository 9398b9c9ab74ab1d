import type { Logger } from 'pino';

export interface ShutdownOptions {
  logger: Logger;
  /** The drain: stop taking work, finish or hand back what is under way, close. */
  stop: () => Promise<void>;
  /** The drain may take this long before the process exits anyway. */
  timeoutMs: number;
}

/**
 * Two-stage shutdown for a service's `main.ts`: the first SIGTERM/SIGINT drains and exits 0 (or the
 * given code), a second exits at once with 130, and a drain that overruns `timeoutMs` exits 1.
 * Returns the same `shutdown(reason, code)` for ends that are not signals (a finished job, a failure).
 */
export function handleShutdown(options: ShutdownOptions): (reason: string, code?: number) => void {
  let stopping = false;
  const shutdown = (reason: string, code = 0): void => {
    if (stopping) {
      options.logger.warn({ reason }, 'second signal: exiting now');
      process.exit(130);
    }
    stopping = true;
    options.logger.info({ reason }, 'draining');
    const force = setTimeout(() => {
      options.logger.error('drain took too long: exiting');
      process.exit(1);
    }, options.timeoutMs);
    force.unref();
    options.stop().then(
      () => process.exit(code),
      (err: unknown) => {
        options.logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  return shutdown;
}
