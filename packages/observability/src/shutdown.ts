import type { Logger } from 'pino';

export interface ShutdownOptions {
  logger: Logger;
  /** The drain: stop taking work, finish or hand back what is under way, close. */
  stop: () => Promise<void>;
  /** The drain may take this long before the process exits anyway. */
  timeoutMs: number;
}

/**
 * One Ctrl-C can arrive more than once: a terminal sends SIGINT to the whole foreground process
 * group, and pnpm forwards the SIGINT it got to its child as well, a few milliseconds apart. A
 * SIGINT this soon after the one that started the drain is that same keypress; a person's second
 * Ctrl-C comes later. SIGTERM comes from one sender (pnpm, docker, the kubelet): a second one is
 * always a second request.
 */
export const SAME_SIGNAL_MS = 500;

/**
 * Two-stage shutdown for a service's `main.ts`: the first SIGTERM/SIGINT drains and exits 0 (or the
 * given code), a second one exits at once with 130 (a SIGINT within SAME_SIGNAL_MS of the first
 * is the same Ctrl-C), and a drain that overruns `timeoutMs` exits 1.
 * Returns the same `shutdown(reason, code)` for ends that are not signals (a finished job, a failure).
 * Only a signal forces an exit: whoever signals again (a person, a supervisor) will not wait.
 */
export function handleShutdown(options: ShutdownOptions): (reason: string, code?: number) => void {
  /** When a SIGINT started the drain; undefined while running, or when it started otherwise. */
  let interruptedAt: number | undefined;
  let stopping = false;
  let exitCode = 0;
  const shutdown = (reason: string, code: number): void => {
    stopping = true;
    exitCode = code;
    options.logger.info({ reason }, 'draining');
    const force = setTimeout(() => {
      options.logger.error('drain took too long: exiting');
      process.exit(1);
    }, options.timeoutMs);
    force.unref();
    options.stop().then(
      () => process.exit(exitCode),
      (err: unknown) => {
        options.logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!stopping) {
      if (signal === 'SIGINT') interruptedAt = Date.now();
      shutdown(signal, 0);
      return;
    }
    if (signal === 'SIGINT' && interruptedAt !== undefined && Date.now() - interruptedAt < SAME_SIGNAL_MS) {
      options.logger.debug({ signal }, 'the same Ctrl-C again (from the process group and from pnpm): still draining');
      return;
    }
    options.logger.warn({ reason: signal }, 'second signal: exiting now');
    process.exit(130);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return (reason, code = 0) => {
    if (!stopping) shutdown(reason, code);
    // An end met during the drain (the gateway's source finishing because it was stopped, a consumer
    // crashing) lets the drain finish; a failure still makes the exit code non-zero.
    else if (code !== 0) exitCode = code;
  };
}
