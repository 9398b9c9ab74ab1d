import { z } from 'zod';
import { Id, ObjectRef, Timestamp } from './primitives.js';

export const Severity = z.enum(['info', 'warning', 'critical']);
export type Severity = z.infer<typeof Severity>;

/** First cut; the alerting issue completes it. Published on `alerts.v1`. */
export const Alert = z.strictObject({
  alertId: Id,
  dedupKey: z.string().min(1).max(256),
  rule: z.string().min(1).max(64),
  status: z.enum(['open', 'resolved']),
  severity: Severity,
  lineId: Id,
  cameraId: Id.optional(),
  message: z.string().max(1024),
  openedAt: Timestamp,
  updatedAt: Timestamp,
  resolvedAt: Timestamp.optional(),
  frameIds: z.array(Id).max(100),
  anomalyMaps: z.array(ObjectRef).max(100),
});
export type Alert = z.infer<typeof Alert>;
