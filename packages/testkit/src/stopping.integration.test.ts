/**
 * Every way a person or a supervisor stops a service drains it once and exits 0: Ctrl-C in a
 * terminal (SIGINT to the whole foreground process group: pnpm, `loomwatch` and the service all get
 * it, pnpm forwards its own as well), SIGTERM to the outermost process (`pnpm loomwatch api`,
 * `pnpm api`), and SIGTERM to the service alone (what `docker stop` and a pod's termination send to
 * PID 1, which is node in the images). No process of the group is left. A second Ctrl-C the person
 * types later exits at once. The service is the inference API (no auth, the random model): it needs
 * no broker and starts in a second.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { builtEntry } from './build.js';
import { REPO_ROOT } from './infra.js';

const API_ARGS = ['--set', 'api.auth=none', '--set', 'model=draem-random@0.0.1', '--set', 'api.port=0', '--set', 'ops.port=0'];
/** pnpm runs with, and runs its scripts with, the Node of this test run. */
const ENV = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}`, LOG_LEVEL: 'info' };
/** Longer than handleShutdown's SAME_SIGNAL_MS (500 ms), within which a signal counts as the same Ctrl-C. */
const A_PERSON_LATER_MS = 1000;

interface Started {
  child: ChildProcess;
  /** The process group: the command's pid, as it was started detached. */
  group: number;
  /** stdout and stderr so far. */
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The API's own port, from its "listening" line. */
  port: number;
}

/** Starts `command args` as the leader of its own process group, as a shell starts a foreground job, and waits until the API listens. */
async function startInGroup(command: string, args: readonly string[]): Promise<Started> {
  const child = spawn(command, args, { cwd: REPO_ROOT, env: ENV, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  await expect.poll(() => output, { timeout: 60_000, interval: 100 }).toMatch(/"msg":"inference API listening"/);
  const port = Number(/"port":(\d+),"opsPort"/.exec(output)?.[1]);
  return { child, group: child.pid ?? -1, output: () => output, exited, port };
}

/** Whether any process of the group is still there. */
function groupAlive(group: number): boolean {
  try {
    process.kill(-group, 0);
    return true;
  } catch {
    return false;
  }
}

const count = (text: string, message: string): number => text.split('\n').filter((line) => line.includes(`"msg":"${message}"`)).length;

/** Drained once, no "second signal", exit 0, and nothing of the group left. */
async function expectOneDrain(started: Started): Promise<void> {
  const { code, signal } = await started.exited;
  await expect.poll(() => groupAlive(started.group), { timeout: 10_000 }).toBe(false);
  const output = started.output();
  expect(count(output, 'draining'), output).toBe(1);
  expect(output).not.toContain('second signal');
  expect(count(output, 'inference API stopped'), output).toBe(1);
  expect({ code, signal }).toEqual({ code: 0, signal: null });
}

const LOOMWATCH_BIN = 'deploy/cli/bin/loomwatch';

describe('stopping a service', () => {
  it('Ctrl-C on `pnpm loomwatch api` drains once, exit 0', async () => {
    const api = await startInGroup('pnpm', ['loomwatch', 'api', ...API_ARGS]);
    process.kill(-api.group, 'SIGINT');
    await expectOneDrain(api);
  }, 90_000);

  it('SIGTERM to the pnpm of `pnpm loomwatch api` drains once, exit 0, and leaves no orphan', async () => {
    const api = await startInGroup('pnpm', ['loomwatch', 'api', ...API_ARGS]);
    process.kill(api.group, 'SIGTERM');
    await expectOneDrain(api);
  }, 90_000);

  it('Ctrl-C on `pnpm api` drains once, exit 0', async () => {
    const api = await startInGroup('pnpm', ['api', ...API_ARGS]);
    process.kill(-api.group, 'SIGINT');
    await expectOneDrain(api);
  }, 90_000);

  it('SIGTERM to the pnpm of `pnpm api` drains once, exit 0, and leaves no orphan', async () => {
    const api = await startInGroup('pnpm', ['api', ...API_ARGS]);
    process.kill(api.group, 'SIGTERM');
    await expectOneDrain(api);
  }, 90_000);

  it('Ctrl-C on the `loomwatch` command drains once, exit 0', async () => {
    const api = await startInGroup(process.execPath, [builtEntry(LOOMWATCH_BIN), 'api', ...API_ARGS]);
    process.kill(-api.group, 'SIGINT');
    await expectOneDrain(api);
  }, 90_000);

  it('SIGTERM to node alone, as docker stop and a pod termination send it to PID 1, drains once, exit 0', async () => {
    const api = await startInGroup(process.execPath, [builtEntry('services/inference-api/dist/main.js'), ...API_ARGS]);
    process.kill(api.child.pid ?? -1, 'SIGTERM');
    await expectOneDrain(api);
  }, 90_000);

  it('a second Ctrl-C typed while a drain waits on a request exits at once', async () => {
    const api = await startInGroup(process.execPath, [builtEntry(LOOMWATCH_BIN), 'api', ...API_ARGS]);
    // A request whose body never ends: the drain waits for it (up to its 30 s).
    const socket = connect(api.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('POST /v1/infer HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: image/png\r\ncontent-length: 1000000\r\n\r\n\x89PNG');
    try {
      process.kill(-api.group, 'SIGINT');
      await expect.poll(() => count(api.output(), 'draining'), { timeout: 10_000 }).toBe(1);
      // The person's second keypress: later than the same Ctrl-C arriving twice ever is.
      await sleep(A_PERSON_LATER_MS);
      expect(api.child.exitCode, 'the drain ended before the second Ctrl-C: the request did not hold it').toBeNull();
      process.kill(-api.group, 'SIGINT');
      expect(await api.exited).toEqual({ code: 130, signal: null });
      expect(api.output()).toContain('"msg":"second signal: exiting now"');
    } finally {
      socket.destroy();
    }
  }, 90_000);
});
