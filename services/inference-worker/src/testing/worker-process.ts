import type { ChildProcess } from 'node:child_process';
import { spawnNodeProcess, type Infra } from '@loomwatch/testkit';

interface WorkerProcessOptions {
  infra: Infra;
  id: string;
  model: string;
  /** onnxruntime intra-op threads. @defaultValue 1 */
  threads?: number;
  /** `inference.modelCpus`: the CPUs the model's threads run on, the worker's other threads on the rest. */
  modelCpus?: string;
  groupId?: string;
  inputTopic?: string;
  verdictTopic?: string;
  deadLetterTopic?: string;
  /** Where deployments are read from and shadow verdicts go: the worker checks both exist at start. */
  controlTopic?: string;
  shadowVerdictTopic?: string;
  frameBucket?: string;
  outputBucket?: string;
  /** @defaultValue 10000 — short, so a killed worker's partitions move on quickly. */
  sessionTimeoutMs?: number;
  /** @defaultValue 'warn' */
  logLevel?: string;
  /** Where stdout and stderr go; stderr is inherited when omitted. */
  logFile?: string;
}

/** An inference worker as its own process, the way it is deployed (so it can be SIGKILLed), configured through its environment. */
export function spawnWorkerProcess(options: WorkerProcessOptions): ChildProcess {
  return spawnNodeProcess({
    entry: 'services/inference-worker/dist/main.js',
    infra: options.infra,
    settings: {
      WORKER_ID: options.id,
      LOOMWATCH_MODEL: options.model,
      LOOMWATCH_WORKER__GROUP_ID: options.groupId,
      LOOMWATCH_WORKER__INPUT_TOPIC: options.inputTopic,
      LOOMWATCH_WORKER__VERDICT_TOPIC: options.verdictTopic,
      LOOMWATCH_WORKER__DEAD_LETTER_TOPIC: options.deadLetterTopic,
      LOOMWATCH_WORKER__CONTROL_TOPIC: options.controlTopic,
      LOOMWATCH_WORKER__SHADOW_VERDICT_TOPIC: options.shadowVerdictTopic,
      LOOMWATCH_WORKER__ALLOWED_BUCKETS: options.frameBucket,
      LOOMWATCH_WORKER__OUTPUT_BUCKET: options.outputBucket,
      LOOMWATCH_WORKER__SESSION_TIMEOUT_MS: options.sessionTimeoutMs ?? 10_000,
      LOOMWATCH_INFERENCE__INTRA_OP_NUM_THREADS: options.threads ?? 1,
      LOOMWATCH_INFERENCE__MODEL_CPUS: options.modelCpus,
      LOOMWATCH_OPS__PORT: 0,
      LOOMWATCH_LOG__LEVEL: options.logLevel ?? 'warn',
    },
    ...(options.logFile === undefined ? {} : { logFile: options.logFile }),
  });
}
