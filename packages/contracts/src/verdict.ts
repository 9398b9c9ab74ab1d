import { z } from 'zod';
import { Id, ObjectRef, Sha256, Timestamp } from './primitives.js';

export const VerdictKind = z.enum(['ok', 'defect']);
export type VerdictKind = z.infer<typeof VerdictKind>;

/** A connected area of the anomaly map above the pixel threshold. */
export const Region = z.strictObject({
  x: z.int().nonnegative(),
  y: z.int().nonnegative(),
  width: z.int().positive(),
  height: z.int().positive(),
  area: z.int().positive(),
  maxScore: z.number().min(0).max(1),
  meanScore: z.number().min(0).max(1),
});
export type Region = z.infer<typeof Region>;

export const InputStats = z.strictObject({
  mean: z.number(),
  std: z.number().nonnegative(),
  min: z.number(),
  max: z.number(),
  /** Coarse histogram of 8-bit intensities, equal-width bins over 0..255, as fractions. */
  histogram: z.array(z.number().min(0).max(1)).min(1).max(256),
});
export type InputStats = z.infer<typeof InputStats>;

/** The model version that decided: the one that ran, its precision, and what was asked for when that differs. */
export const ModelRef = z.strictObject({
  name: Id,
  /** The version that ran (its ONNX is `sha256`). */
  version: z.string().min(1).max(64),
  sha256: Sha256,
  /** How it ran: `int8` for a quantised variant (its card's `quantization`), else `fp32`; absent in messages from before it was recorded. */
  precision: z.enum(['fp32', 'int8']).optional(),
  /**
   * The version the deployment, replay or request named, when another one ran in its place (its
   * INT8 variant, by the precision choice); absent: `version` is the one named.
   */
  requested: z.string().min(1).max(64).optional(),
});
export type ModelRef = z.infer<typeof ModelRef>;

/** The decision for one frame, published on `verdicts.v1` in the same transaction as the input offset. */
export const Verdict = z.strictObject({
  frameId: Id,
  lineId: Id,
  cameraId: Id,
  seq: z.int().nonnegative(),
  capturedAt: Timestamp,
  decidedAt: Timestamp,
  verdict: VerdictKind,
  score: z.number().min(0).max(1),
  normalizedScore: z.number().min(0).max(1),
  threshold: z.number().min(0).max(1),
  /** The frame's fabric, as the camera sent it (its product.fabricCode); absent when it sent none. */
  fabricCode: z.string().min(1).max(32).optional(),
  /** The fabric whose calibrated threshold was applied (the frame's product.fabricCode); absent: the model's pooled threshold. */
  calibratedFabric: z.string().min(1).max(32).optional(),
  /**
   * The false-alarm rate whose threshold was applied (the deployment's rate for the line, or the
   * card's default 0.05); absent when the model's card has no operating points.
   */
  falseAlarmRate: z.number().gt(0).lt(1).optional(),
  regions: z.array(Region).max(256),
  model: ModelRef,
  anomalyMap: ObjectRef,
  /**
   * The overlay image: the frame with the anomaly map blended in and the regions outlined. Under the
   * workers' `worker.overlays: on-request` (the default) nothing is stored there when the verdict is
   * published: the key is a link that renders on first request — the dashboard's object proxy, the
   * inference API's `GET /v1/overlays/{bucket}/{key}`, or any `@loomwatch/overlay`
   * renderer draws it from the anomaly map (which carries what it needs) and the frame, and stores
   * it at this key for the next reader. Under `per-frame` it is stored before the verdict.
   */
  overlay: ObjectRef.describe(
    'The overlay image (the frame with the anomaly map blended in, regions outlined). With the workers\' worker.overlays: on-request (the default) it is not stored when the verdict is published: the dashboard\'s object proxy, the inference API (GET /v1/overlays/{bucket}/{key}) or an @loomwatch/overlay renderer renders it from the anomaly map and the frame on first request and stores it at this key. With per-frame it is stored before the verdict.',
  ),
  inputStats: InputStats,
  /** Milliseconds per stage, e.g. fetch, decode, infer, post, store. */
  timings: z.record(z.string().max(32), z.number().nonnegative()),
  workerId: z.string().min(1).max(128),
});
export type Verdict = z.infer<typeof Verdict>;
