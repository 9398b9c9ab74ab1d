import { z } from 'zod';
import { Id, Timestamp } from './primitives.js';

/** What a drift monitor compares a window of live frames with the model card's reference on. */
export const DriftCheck = z.enum(['input-psi', 'input-ks', 'input-contrast', 'score-psi', 'defect-rate']);
export type DriftCheck = z.infer<typeof DriftCheck>;

export const DriftStatus = z.enum(['ok', 'drifting']);
export type DriftStatus = z.infer<typeof DriftStatus>;

/** One check's measured value and the level beyond which it trips. */
export const DriftMeasure = z.strictObject({
  check: DriftCheck,
  value: z.number(),
  threshold: z.number(),
  tripped: z.boolean(),
  /** Frames the measure covered (the score and defect-rate checks keep longer windows than the input checks). */
  frames: z.int().positive(),
});
export type DriftMeasure = z.infer<typeof DriftMeasure>;

/**
 * A drift monitor's judgement of one camera's recent frames of one fabric against the model card's
 * reference profile, published on `drift.v1` keyed `lineId:cameraId` each time a window is
 * evaluated. `status` is `drifting` when any measure tripped; a consumer keeps the latest event per
 * line, camera and fabric.
 */
export const DriftEvent = z.strictObject({
  lineId: Id,
  cameraId: Id,
  /** The frames' fabric (the verdicts' calibratedFabric); absent: frames without one, judged against the pooled reference. */
  fabricCode: z.string().min(1).max(32).optional(),
  status: DriftStatus,
  /** The checks that tripped, empty when the status is ok. */
  tripped: z.array(DriftCheck).max(8),
  measures: z.array(DriftMeasure).min(1).max(8),
  /** The frames of the window: the last one decides the event's place in time. */
  window: z.strictObject({
    frames: z.int().positive(),
    firstFrameId: Id,
    lastFrameId: Id,
    from: Timestamp,
    to: Timestamp,
  }),
  /** The model card whose reference the window was compared with, and which part of it. */
  reference: z.strictObject({
    model: Id,
    version: z.string().min(1).max(64),
    split: z.string().min(1).max(200),
    scope: z.enum(['fabric', 'pooled']),
  }),
  evaluatedAt: Timestamp,
  monitorId: z.string().min(1).max(128),
});
export type DriftEvent = z.infer<typeof DriftEvent>;
