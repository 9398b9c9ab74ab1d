import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { KafkaConfig, LogConfig, S3Config, opsConfig } from '@loomwatch/config';
import { Id, TOPICS } from '@loomwatch/contracts';
import { DEFAULT_REGISTRY_ROOT } from '@loomwatch/model-registry';
import { GuardConfig } from './guard.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** A command and its first arguments, run as a subprocess (no shell). */
const CommandLine = z.array(z.string().min(1)).min(1);

/** The retrainer's config; unknown keys are refused with their path. */
export const RetrainConfig = z.strictObject({
  kafka: KafkaConfig.prefault({}),
  /** Where the replay reports are stored (`retrain.reportBucket`). */
  s3: S3Config.prefault({}),
  retrain: z
    .strictObject({
      /** Where retrain requests and deployments are. @defaultValue 'control.v1' */
      controlTopic: z.string().min(1).default(TOPICS.control),
      /** The reviews the policy counts. @defaultValue 'feedback.v1' */
      feedbackTopic: z.string().min(1).default(TOPICS.feedback),
      /** The registry the parent is read from and the candidate written to. @defaultValue '<repo>/models/registry' */
      registryRoot: z.string().min(1).default(DEFAULT_REGISTRY_ROOT),
      /** Where each snapshot is pulled (`<workDir>/<snapshot id>`). @defaultValue '<tmpdir>/loomwatch-retrain' */
      workDir: z.string().min(1).default(join(tmpdir(), 'loomwatch-retrain')),
      /** The bucket of the data set snapshots (`loomwatch dataset --bucket`). @defaultValue 'loomwatch-datasets' */
      datasetBucket: z.string().min(3).max(63).default('loomwatch-datasets'),
      /** `loomwatch dataset`, before its `snapshot` / `pull` arguments. @defaultValue ['node', '<repo>/services/dataset/dist/cli.js'] */
      datasetCommand: CommandLine.default(['node', join(REPO_ROOT, 'services/dataset/dist/cli.js')]),
      /** `models/lw refit`, before `--feedback DIR --parent P --version V --registry R`; exit 0 passed, 1 refused by the gate, else failed. @defaultValue ['<repo>/models/lw', 'refit'] */
      refitCommand: CommandLine.default([join(REPO_ROOT, 'models/lw'), 'refit']),
      /** `loomwatch replay`, before its `run` / `report` arguments. @defaultValue ['node', '<repo>/services/replay/dist/cli.js'] */
      replayCommand: CommandLine.default(['node', join(REPO_ROOT, 'services/replay/dist/cli.js')]),
      /** The frames a replay decides again (`replay run --set worker.inputTopic`, `replay report --frames-topic`). @defaultValue 'frames.v1' */
      framesTopic: z.string().min(1).default(TOPICS.frames),
      /** The live verdicts a replay report compares with (`replay report --baseline`). @defaultValue 'verdicts.v1' */
      verdictsTopic: z.string().min(1).default(TOPICS.verdicts),
      /** Where each request's replay report is stored (`retrain/<request id>/report/`): the bucket the dashboard serves retrain reports from (its `objects.retrainReports`). @defaultValue 'loomwatch-datasets' */
      reportBucket: z.string().min(3).max(63).default('loomwatch-datasets'),
      /** The open drift alerts the drift policy reads (`policy.drift`). @defaultValue 'alerts.v1' */
      alertsTopic: z.string().min(1).default(TOPICS.alerts),
      /** The drift monitor's judgements, which name the fabric a drift alert is about. @defaultValue 'drift.v1' */
      driftTopic: z.string().min(1).default(TOPICS.drift),
      /** Share of live frames the candidate decides in shadow. @defaultValue 0.1 */
      shadowSample: z.number().min(0).max(1).default(0.1),
      /** First SIGTERM waits this long (a refit under way is stopped after it). @defaultValue 20000 */
      shutdownTimeoutMs: z.int().positive().default(20_000),
    })
    .prefault({}),
  policy: z
    .strictObject({
      /** The deployment whose false alarms the policy counts; absent: no policy, only requests people make. @defaultValue none */
      model: Id.optional(),
      /** New false alarms on a fabric that ask for a refit. @defaultValue 5 */
      falseAlarms: z.int().positive().default(5),
      /** Also ask for a refit of a fabric whose drift alert is open (follows `retrain.alertsTopic` and `retrain.driftTopic`); needs `policy.model`. @defaultValue false */
      drift: z.boolean().default(false),
    })
    .prefault({})
    .refine((policy) => !policy.drift || policy.model !== undefined, { message: 'policy.drift needs policy.model: the deployment whose drift asks for refits', path: ['drift'] }),
  guard: GuardConfig.prefault({}),
  /** `/healthz`, `/readyz`, `/metrics`. @defaultValue port 9471 on 127.0.0.1 */
  ops: opsConfig(9471),
  log: LogConfig,
});
export type RetrainConfig = z.infer<typeof RetrainConfig>;
