import { z } from 'zod';
import { KafkaConfig, LogConfig, opsConfig, S3Config } from '@loomwatch/config';
import { PipelineConfig } from '@loomwatch/frame-pipeline';
import { InferenceConfig } from '@loomwatch/inference';

/** Topics, buckets and tuning of the live pipeline (a replay reads these too), and the worker's place in its group. */
const WorkerSection = PipelineConfig.unwrap()
  .extend({
    /**
     * This worker's static member id in `worker.groupId` (KIP-345, Kafka's group.instance.id): a
     * worker restarted with the same id within `worker.sessionTimeoutMs` gets its partitions back
     * without a rebalance; a second live worker with the same id fences the first, which stops
     * (exit 1). Unique per worker. 'none' makes a dynamic member.
     * @defaultValue WORKER_ID when set (the pod name in Kubernetes), else none (a dynamic member)
     */
    groupInstanceId: z
      .string()
      .regex(/^[\w.-]{1,249}$/, 'letters, digits, ".", "_" and "-", at most 249')
      .optional(),
  })
  .prefault({});

/** The live worker's config; unknown keys are refused with their path. */
export const WorkerConfig = z.strictObject({
  kafka: KafkaConfig.prefault({}),
  s3: S3Config.prefault({}),
  worker: WorkerSection,
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

/**
 * The worker's static member id: `worker.groupInstanceId`, else the `WORKER_ID` variable; none
 * (a dynamic member) when neither is set or the setting is 'none'.
 */
export function staticMemberId(worker: WorkerConfig['worker'], env: NodeJS.ProcessEnv): string | undefined {
  const id = worker.groupInstanceId ?? env['WORKER_ID'];
  return id === undefined || id === '' || id === 'none' ? undefined : id;
}
