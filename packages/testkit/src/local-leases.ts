/**
 * Runs that share one local instance of deploy/local/infra.sh (several test runs at once, a soak
 * beside them) each hold a lease on it, a file named by the run's pid in `$STATE/runs/`. The last
 * run to end stops the servers, and only when a run started them: one found running (a person's
 * `infra.sh start`) is left running. Taking and dropping a lease (with the start or the stop it
 * decides) happen under a lock, so a run never reuses servers that another run is stopping.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The marker of servers a run started (not a person): a file beside the leases. */
const STARTED = 'started-by-a-run';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: a live process of another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in the lock file; undefined while it is being written; 'gone' when it was just released. */
function lockHolder(lock: string): number | undefined | 'gone' {
  try {
    const pid = Number.parseInt(readFileSync(lock, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw err;
  }
}

/** The leases of `stateDir`: one folder, a file per run. */
export function leaseDir(stateDir: string): string {
  return join(stateDir, 'runs');
}

/**
 * Runs `fn` while holding `stateDir`'s lease lock (a file created exclusively, naming its
 * holder's pid); a lock whose holder died is taken over. Waits up to `timeoutMs` for it.
 */
export async function underLeaseLock<T>(stateDir: string, fn: () => T | Promise<T>, timeoutMs = 600_000): Promise<T> {
  mkdirSync(leaseDir(stateDir), { recursive: true });
  const lock = join(stateDir, 'runs.lock');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = lockHolder(lock);
      if (holder === 'gone') continue;
      // An empty file is a lock being written this instant: its holder is alive.
      if (holder !== undefined && !alive(holder)) {
        rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${lock} has been held by pid ${holder ?? '?'} for ${timeoutMs / 1000} s: see whether that process is stuck`);
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

/** Takes `pid`'s lease (call under the lock); `startedServers`: this run started them. */
export function takeLease(stateDir: string, pid: number, startedServers: boolean): void {
  mkdirSync(leaseDir(stateDir), { recursive: true });
  writeFileSync(join(leaseDir(stateDir), String(pid)), '');
  if (startedServers) writeFileSync(join(leaseDir(stateDir), STARTED), '');
}

/**
 * Drops `pid`'s lease (call under the lock) and says whether the servers are to be stopped now:
 * a run started them and no live run holds a lease. Leases of runs that died are dropped too.
 */
export function dropLease(stateDir: string, pid: number): boolean {
  const dir = leaseDir(stateDir);
  rmSync(join(dir, String(pid)), { force: true });
  const names = readdirSync(dir);
  let live = 0;
  for (const name of names.filter((entry) => /^\d+$/.test(entry))) {
    if (alive(Number(name))) live += 1;
    else rmSync(join(dir, name), { force: true });
  }
  if (live > 0 || !names.includes(STARTED)) return false;
  rmSync(join(dir, STARTED), { force: true });
  return true;
}
