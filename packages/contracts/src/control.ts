import { z } from 'zod';
import { Id, Timestamp, ownValue } from './primitives.js';

/**
 * A version of the deployment's model as the registry names its directories (`1.2.0`,
 * `0.0.1-rc1`), or `<model>@<version>` for a version of another model of the registry, so that
 * a rollout can shadow, canary or serve another model family (`patchcore-aitex@1.1.0` in the
 * deployment of `draem-aitex`).
 */
export const ModelVersion = z
  .string()
  .min(1)
  .max(160)
  .regex(/^([A-Za-z0-9._-]+@)?[A-Za-z0-9._-]+$/, 'a registry version directory name, or <model>@<version>')
  .refine((value) => value.split('@').every((part) => part !== '.' && part !== '..'), 'a registry version, never "." or ".." (a directory outside the version)');

/** The registry reference (`name@version`) of a version a deployment of `model` names. */
export function deployedModelRef(model: string, version: string): string {
  return version.includes('@') ? version : `${model}@${version}`;
}

/**
 * Which precision serves a version a deployment (or a replay) names: `fp32` the version itself,
 * `int8` its INT8 variant (a sibling whose card has `quantization` naming it as parent), `auto` that
 * variant only where the CPU has VNNI and its recorded loss is small (`@loomwatch/model-registry`'s
 * `choosePrecision`), else the version itself.
 */
export const Precision = z.enum(['auto', 'fp32', 'int8']);
export type Precision = z.infer<typeof Precision>;

/** The false-alarm rates a deployment may ask for: 0.1 % to 20 % of normal frames flagged. */
export const FALSE_ALARM_RATE_RANGE = { min: 0.001, max: 0.2 } as const;

/** A false-alarm rate a deployment may ask for (see `FALSE_ALARM_RATE_RANGE`). */
export const FalseAlarmRate = z.number().min(FALSE_ALARM_RATE_RANGE.min).max(FALSE_ALARM_RATE_RANGE.max);

/**
 * The false-alarm rate the plant accepts: each version's card turns it into an image threshold
 * (its `operatingPoints`). Absent, or a line not listed without a deployment rate: the card's
 * default (`CARD_FALSE_ALARM_RATE`, 0.05).
 */
export const DeploymentOperatingPoint = z.strictObject({
  /** The rate for every line not listed in `lines`; absent: the card's default. */
  falseAlarmRate: FalseAlarmRate.optional(),
  /** Line → rate, for lines that accept another rate than the deployment's. */
  lines: z.record(Id, FalseAlarmRate).default({}),
});
export type DeploymentOperatingPoint = z.infer<typeof DeploymentOperatingPoint>;

/**
 * Which versions of one model decide live frames. Published on `control.v1` (key
 * `deployment:<model>`, compacted: the latest one is in force). Workers that follow the model
 * switch when a new revision arrives; frames already being decided finish with the old version.
 */
export const Deployment = z.strictObject({
  kind: z.literal('deployment'),
  model: Id,
  /** Increases with every change; a worker ignores a revision older than the one it runs. */
  revision: z.int().positive(),
  /** Decides every frame no other rule claims. Rollback = publish the previous production version. */
  production: ModelVersion,
  /** The candidate decides the frames of these lines and cameras (`line:camera`) instead of production. */
  canary: z
    .strictObject({
      version: ModelVersion,
      lines: z.array(Id).max(256).default([]),
      cameras: z.array(z.string().regex(/^[A-Za-z0-9._-]+:[A-Za-z0-9._-]+$/, 'line:camera')).max(1024).default([]),
    })
    .optional(),
  /** Also decides a sample of live frames; its verdicts go to `verdicts.shadow.v1` and never reach alerting. */
  shadow: z.strictObject({ version: ModelVersion, sample: z.number().min(0).max(1) }).optional(),
  /** Fabric code (FrameEvent.product.fabricCode) → version: per-fabric models take precedence over canary and production. */
  fabrics: z.record(z.string().min(1).max(32), ModelVersion).default({}),
  /** The false-alarm rate in force, per deployment and per line; absent: each card's default (0.05). */
  operatingPoint: DeploymentOperatingPoint.optional(),
  /**
   * The precision every version of the deployment runs at, over each worker's own
   * `inference.precision`; absent: the worker's setting (`auto` unless configured).
   */
  precision: Precision.optional(),
  updatedAt: Timestamp,
  reason: z.string().max(2000).optional(),
});
export type Deployment = z.infer<typeof Deployment>;

export function deploymentKey(model: string): string {
  return `deployment:${model}`;
}

/** Every version a deployment needs loaded. */
export function deploymentVersions(deployment: Deployment): string[] {
  const versions = new Set([deployment.production, ...Object.values(deployment.fabrics)]);
  if (deployment.canary !== undefined) versions.add(deployment.canary.version);
  if (deployment.shadow !== undefined && deployment.shadow.sample > 0) versions.add(deployment.shadow.version);
  return [...versions];
}

/**
 * The false-alarm rate a deployment asks for on a line's frames: the line's own, else the
 * deployment's; undefined leaves each card's default in force.
 */
export function falseAlarmRateFor(deployment: Pick<Deployment, 'operatingPoint'>, lineId: string): number | undefined {
  const point = deployment.operatingPoint;
  return ownValue(point?.lines, lineId) ?? point?.falseAlarmRate;
}
