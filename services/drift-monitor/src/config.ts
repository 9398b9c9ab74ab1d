import { hostname } from 'node:os';
import { z } from 'zod';
import { KafkaConfig, LogConfig, opsConfig } from '@loomwatch/config';
import { TOPICS } from '@loomwatch/contracts';
import { DEFAULT_REGISTRY_ROOT } from '@loomwatch/model-registry';

/** The drift monitor's config; unknown keys are refused with their path. */
export const DriftConfig = z.strictObject({
  kafka: KafkaConfig.prefault({}),
  drift: z
    .strictObject({
      /** Shown in each event's monitorId. @defaultValue '<hostname>-<pid>' */
      id: z.string().min(1).max(128).default(`${hostname()}-${process.pid}`),
      /** Consumer group; also the prefix of the transactional id. @defaultValue 'loomwatch-drift' */
      groupId: z.string().min(1).default('loomwatch-drift'),
      /** @defaultValue 'verdicts.v1' */
      verdictTopic: z.string().min(1).default(TOPICS.verdicts),
      /** @defaultValue 'drift.v1' */
      driftTopic: z.string().min(1).default(TOPICS.drift),
      /** Where a group with no committed offset starts: false judges only verdicts from now on. @defaultValue false */
      fromBeginning: z.boolean().default(false),
      /** Directory holding `<name>/<version>/model.json`, whose `reference` the windows are compared with. @defaultValue '<repo>/models/registry' */
      registryRoot: z.string().min(1).default(DEFAULT_REGISTRY_ROOT),
      /** On start, this many verdicts per partition before the committed offset refill the windows. @defaultValue 400 */
      restoreRecords: z.int().nonnegative().default(400),
      /** First SIGTERM waits this long before closing. @defaultValue 20000 */
      shutdownTimeoutMs: z.int().positive().default(20_000),
    })
    .prefault({}),
  window: z
    .strictObject({
      /** Frames of one camera and fabric the input checks judge: a few minutes of a line. @defaultValue 16 */
      inputFrames: z.int().min(2).max(10_000).default(16),
      /** Frames the score and defect-rate checks judge (PSI over 10 score bins needs a few hundred). @defaultValue 200 */
      scoreFrames: z.int().min(2).max(100_000).default(200),
      /** Frames the score and defect-rate checks need before they judge. @defaultValue 100 */
      minScoreFrames: z.int().min(2).max(100_000).default(100),
      /** A window is judged (and an event published) after this many new frames. @defaultValue 8 */
      everyFrames: z.int().positive().default(8),
    })
    .prefault({})
    .refine((window) => window.minScoreFrames <= window.scoreFrames, { message: 'minScoreFrames must not exceed scoreFrames', path: ['minScoreFrames'] }),
  thresholds: z
    .strictObject({
      /** Input-histogram PSI beyond which the input has drifted (0.1 is the usual "moderate shift"). @defaultValue 0.1 */
      inputPsi: z.number().positive().default(0.1),
      /** KS distance between the input histograms. @defaultValue 0.1 */
      inputKs: z.number().positive().max(1).default(0.1),
      /** Relative change of the pooled pixel std. @defaultValue 0.15 */
      contrast: z.number().positive().default(0.15),
      /** Score PSI (raised to the window's 1-in-1000 noise level when that is higher). @defaultValue 0.25 */
      scorePsi: z.number().positive().default(0.25),
      /** The defect rate expected of a stream like the reference: the threshold's false-alarm rate. @defaultValue 0.05 */
      expectedDefectRate: z.number().positive().max(1).default(0.05),
      /** The defect rate trips when as many defects are less likely than this at the expected rate. @defaultValue 0.001 */
      defectRateP: z.number().positive().max(0.5).default(0.001),
    })
    .prefault({}),
  /** `/healthz`, `/readyz`, `/metrics`. @defaultValue port 9469 on 127.0.0.1 */
  ops: opsConfig(9469),
  log: LogConfig,
});
export type DriftConfig = z.infer<typeof DriftConfig>;
