import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dropLease, leaseDir, takeLease, underLeaseLock } from './local-leases.js';

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' });
  return Number(child.stdout.trim());
}

const state = (): string => mkdtempSync(join(tmpdir(), 'leases-'));

describe('runs sharing one local instance', () => {
  it('stops the servers when the last run ends and a run started them', () => {
    const dir = state();
    takeLease(dir, process.pid, true);
    takeLease(dir, process.ppid, false);
    expect(dropLease(dir, process.pid)).toBe(false);
    expect(dropLease(dir, process.ppid)).toBe(true);
    expect(existsSync(join(leaseDir(dir), String(process.ppid)))).toBe(false);
  });

  it('leaves running the servers that no run started', () => {
    const dir = state();
    takeLease(dir, process.pid, false);
    expect(dropLease(dir, process.pid)).toBe(false);
  });

  it('does not count a run that died without dropping its lease', () => {
    const dir = state();
    const dead = deadPid();
    takeLease(dir, dead, true);
    takeLease(dir, process.pid, false);
    expect(dropLease(dir, process.pid)).toBe(true);
    expect(existsSync(join(leaseDir(dir), String(dead)))).toBe(false);
  });

  it('runs one holder at a time, and takes over the lock of a holder that died', async () => {
    const dir = state();
    const order: string[] = [];
    let release: () => void = () => undefined;
    const first = underLeaseLock(dir, () => new Promise<void>((resolve) => (release = resolve)).then(() => order.push('first')));
    const second = underLeaseLock(dir, () => order.push('second'));
    await expect.poll(() => existsSync(join(dir, 'runs.lock'))).toBe(true);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first', 'second']);

    writeFileSync(join(dir, 'runs.lock'), String(deadPid()));
    expect(await underLeaseLock(dir, () => 'taken over', 1000)).toBe('taken over');
  });
});
