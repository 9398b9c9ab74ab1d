import { z } from 'zod';
import { KafkaConfig, LogConfig, opsConfig, S3Config } from '@loomwatch/config';
import { PipelineConfig } from '@loomwatch/frame-pipeline';
import { InferenceConfig } from '@loomwatch/inference';

/** The live worker's config; unknown keys are refused with their path. */
export const WorkerConfig = z.strictObject({
  kafka: KafkaConfig.prefault({}),
  s3: S3Config.prefault({}),
  /** Topics, buckets and tuning of the live pipeline (a replay reads this section too). */
  worker: PipelineConfig,
  /**
   * The model. A bare name follows its deployments on the control topic (else the registry's
   * production version); `name@version` or a version directory (a value with a `/`) pins one version.
   * @defaultValue the registry's best-validated production model (highest validation image AUROC)
   */
  model: z.string().min(1).optional(),
  inference: InferenceConfig.prefault({}),
  /** `/healthz`, `/readyz`, `/metrics`. @defaultValue port 9464 on 127.0.0.1 */
  ops: opsConfig(9464),
  log: LogConfig,
});
export type WorkerConfig = z.infer<typeof WorkerConfig>;
