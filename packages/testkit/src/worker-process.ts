import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, infraEnv, type Infra } from './infra.js';

export interface WorkerProcessOptions {
  infra: Infra;
  id: string;
  model: string;
  /** onnxruntime intra-op threads. @defaultValue 1 */
  threads?: number;
  groupId?: string;
  inputTopic?: string;
  verdictTopic?: string;
  deadLetterTopic?: string;
  shadowVerdictTopic?: string;
  controlTopic?: string;
  /** The model registry to load versions from. @defaultValue the repo's models/registry */
  registryRoot?: string;
  frameBucket?: string;
  outputBucket?: string;
  /** @defaultValue 10000 — short, so a killed worker's partitions move on quickly. */
  sessionTimeoutMs?: number;
  /** @defaultValue 'warn' */
  logLevel?: string;
  /** Where stdout and stderr go; stderr is inherited when omitted. */
  logFile?: string;
}

/** An inference worker as its own process, the way it is deployed (so it can be SIGKILLed). */
export function spawnWorkerProcess(options: WorkerProcessOptions): ChildProcess {
  const settings: Record<string, string | number | undefined> = {
    WORKER_ID: options.id,
    LOOMWATCH_MODEL: options.model,
    LOOMWATCH_WORKER__GROUP_ID: options.groupId,
    LOOMWATCH_WORKER__INPUT_TOPIC: options.inputTopic,
    LOOMWATCH_WORKER__VERDICT_TOPIC: options.verdictTopic,
    LOOMWATCH_WORKER__DEAD_LETTER_TOPIC: options.deadLetterTopic,
    LOOMWATCH_WORKER__SHADOW_VERDICT_TOPIC: options.shadowVerdictTopic,
    LOOMWATCH_WORKER__CONTROL_TOPIC: options.controlTopic,
    LOOMWATCH_INFERENCE__REGISTRY_ROOT: options.registryRoot,
    LOOMWATCH_WORKER__ALLOWED_BUCKETS: options.frameBucket,
    LOOMWATCH_WORKER__OUTPUT_BUCKET: options.outputBucket,
    LOOMWATCH_WORKER__SESSION_TIMEOUT_MS: options.sessionTimeoutMs ?? 10_000,
    LOOMWATCH_INFERENCE__INTRA_OP_NUM_THREADS: options.threads ?? 1,
    LOOMWATCH_OPS__PORT: 0,
    LOOMWATCH_LOG__LEVEL: options.logLevel ?? 'warn',
  };
  const env: NodeJS.ProcessEnv = { ...process.env, ...infraEnv(options.infra) };
  for (const [name, value] of Object.entries(settings)) if (value !== undefined) env[name] = String(value);
  const log = options.logFile === undefined ? undefined : openSync(options.logFile, 'a');
  return spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'services/inference-worker/src/main.ts')], {
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
