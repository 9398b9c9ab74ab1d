import { z } from 'zod';
import { KafkaConfig, LogConfig, S3Config, STANDARD_ENV_ALIASES, collectConfig, loadConfig, type LoadConfigOptions } from '@loomwatch/config';
import { PipelineConfig } from '@loomwatch/frame-pipeline';
import { InferenceConfig } from '@loomwatch/inference';

/**
 * The sections of the worker's config a replay reads: brokers, S3, the live pipeline's `worker`
 * section (input topic, which topics are live, the control topic, buckets, tuning) and the
 * inference settings. Unknown keys are refused with their path. The worker's `model` and `ops`
 * are accepted, so one file serves both, and not used: a replay's model is `--model`, and it
 * serves no ops endpoints.
 */
export const ReplayConfig = z.strictObject({
  model: z.string().min(1).optional(),
  ops: z.unknown().optional(),
  kafka: KafkaConfig.prefault({}),
  s3: S3Config.prefault({}),
  worker: PipelineConfig,
  inference: InferenceConfig.prefault({}),
  log: LogConfig,
});
export type ReplayConfig = z.infer<typeof ReplayConfig>;

/**
 * The replay reads the worker's files, `--set` overrides and environment (KAFKA_BROKERS, S3_*,
 * LOOMWATCH_INFERENCE__*, LOOMWATCH_WORKER__*), with defaults of its own where the worker's do
 * not fit a command: onnxruntime threads shared out among its workers, and quiet logs.
 */
export function loadReplayConfig(options: { files: readonly string[]; overrides: readonly string[]; workers: number; env?: NodeJS.ProcessEnv }): ReplayConfig {
  const env = options.env ?? process.env;
  const sources: LoadConfigOptions = {
    files: options.files,
    env,
    envAliases: { ...STANDARD_ENV_ALIASES, WORKER_ID: 'worker.id' },
    overrides: options.overrides,
  };
  const raw = collectConfig(sources).tree;
  const configured = (section: string, key: string): boolean => {
    const node = raw[section];
    return typeof node === 'object' && node !== null && key in node;
  };
  const defaults: Record<string, string> = {};
  // The machine's cores (two, where this was written) go to the workers, not N × all of them.
  if (!configured('inference', 'intraOpNumThreads')) {
    defaults['LOOMWATCH_INFERENCE__INTRA_OP_NUM_THREADS'] = String(replayThreadsPerWorker(options.workers));
  }
  // Logs go to stderr with the progress line; warnings are what a person at a terminal wants.
  if (!configured('log', 'level')) defaults['LOOMWATCH_LOG__LEVEL'] = 'warn';
  return loadConfig(ReplayConfig, { ...sources, env: { ...env, ...defaults } });
}

/** onnxruntime intra-op threads of each of `workers` sessions when not configured. */
function replayThreadsPerWorker(workers: number): number {
  return Math.max(1, Math.floor(2 / workers));
}
