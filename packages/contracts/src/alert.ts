import { z } from 'zod';
import { Id, ObjectRef, Timestamp } from './primitives.js';

export const Severity = z.enum(['info', 'warning', 'critical']);
export type Severity = z.infer<typeof Severity>;

/** What kind of rule raised an alert; `rule` is the configured rule's own name. */
export const AlertKind = z.enum(['level', 'burst', 'defect-rate', 'stale-verdicts', 'no-frames', 'dead-letter-rate', 'drift', 'precision']);
export type AlertKind = z.infer<typeof AlertKind>;

export const AlertStatus = z.enum(['open', 'resolved']);
export type AlertStatus = z.infer<typeof AlertStatus>;

/** The measurement that crossed (or fell back below) the rule's level. */
export const AlertObservation = z.strictObject({
  /** The measured value: a score, a region area, a defect count, a rate, seconds without verdicts… */
  value: z.number(),
  /** The level the rule compares it with. */
  threshold: z.number(),
  /** Frames the measurement covered (burst, rate rules). */
  frames: z.int().nonnegative().optional(),
  /** Time window the measurement covered, in milliseconds (rate, stale rules). */
  windowMs: z.int().nonnegative().optional(),
});
export type AlertObservation = z.infer<typeof AlertObservation>;

/**
 * An alert transition, published on `alerts.v1` keyed `lineId:cameraId` (`lineId:*` for a
 * line-wide alert). One alert episode has one `alertId`; each message about it has a higher
 * `revision` (0 when it opens), so `alertId` + `revision` identifies a message and a consumer
 * keeps the highest revision. `dedupKey` names what is alerted on (`rule:line:camera`): at most
 * one episode per dedup key is open at a time.
 */
export const Alert = z
  .strictObject({
    alertId: Id,
    dedupKey: z.string().min(1).max(256),
    rule: z.string().min(1).max(64),
    status: AlertStatus,
    severity: Severity,
    lineId: Id,
    /** Absent for a line-wide alert. */
    cameraId: Id.optional(),
    message: z.string().max(1024),
    openedAt: Timestamp,
    updatedAt: Timestamp,
    resolvedAt: Timestamp.optional(),
    /** Frames that caused the alert, oldest first (the latest 100). */
    frameIds: z.array(Id).max(100),
    /** Their anomaly maps, in the same order where a frame has one. */
    anomalyMaps: z.array(ObjectRef).max(100),
    kind: AlertKind.optional(),
    /** 0 when the alert opens, one more for each later message about it. */
    revision: z.int().nonnegative().optional(),
    /** Set by escalating rules (a burst): the line should stop. */
    stopLine: z.boolean().optional(),
    observation: AlertObservation.optional(),
  })
  .refine((alert) => (alert.status === 'resolved') === (alert.resolvedAt !== undefined), {
    message: 'resolvedAt is set exactly when the status is resolved',
    path: ['resolvedAt'],
  });
export type Alert = z.infer<typeof Alert>;
