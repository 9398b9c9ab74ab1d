import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { builtEntry } from './build.js';
import { REPO_ROOT, infraEnv, type Infra } from './infra.js';

export interface NodeProcessOptions {
  /** The compiled entry point, relative to the repo root, e.g. `services/inference-worker/dist/main.js`. */
  entry: string;
  /** Command-line arguments after the entry. */
  args?: readonly string[];
  infra: Infra;
  /** Settings on top of the test run's environment and the infra variables; undefined ones are left out. */
  settings?: Record<string, string | number | undefined>;
  /** Where stdout and stderr go; stderr is inherited when omitted. */
  logFile?: string;
}

/** A service as its own process, the way it is deployed: plain node on its compiled JavaScript (so it can be SIGKILLed). */
export function spawnNodeProcess(options: NodeProcessOptions): ChildProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, ...infraEnv(options.infra) };
  for (const [name, value] of Object.entries(options.settings ?? {})) if (value !== undefined) env[name] = String(value);
  const log = options.logFile === undefined ? undefined : openSync(options.logFile, 'a');
  return spawn(process.execPath, [builtEntry(options.entry), ...(options.args ?? [])], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', log ?? 'ignore', log ?? 'inherit'],
  });
}

export function processExited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM, then wait for the drain to finish. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  await processExited(child);
}
