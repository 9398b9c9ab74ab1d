/** Feedback records for tests (here and in the services that fold feedback). */
import { Feedback, type FeedbackLabel, type ReviewQueue } from '@loomwatch/contracts';

/**
 * A valid review of `frameId` on line-1/cam-1, fabric 05, patchcore-aitex 1.2.0: a flagged frame
 * for `defect-confirmed` / `false-alarm` (queue `flagged`), else an ok frame (queue `sample`).
 */
export function review(
  frameId: string,
  label: FeedbackLabel,
  extra: Partial<Omit<Feedback, 'verdict'>> & { queue?: ReviewQueue; fabric?: string; version?: string; decidedAt?: string } = {},
): Feedback {
  const { fabric = '05', version = '1.2.0', decidedAt = '2026-12-07T10:00:00Z', ...rest } = extra;
  const flagged = label === 'defect-confirmed' || label === 'false-alarm';
  return Feedback.parse({
    feedbackId: `${frameId}-${label}-${rest.revision ?? 0}`,
    frameId,
    lineId: 'line-1',
    cameraId: 'cam-1',
    fabricCode: fabric,
    image: { bucket: 'loomwatch-frames', key: `frames/${frameId}.png`, sha256: 'a'.repeat(64) },
    verdict: { verdict: flagged ? 'defect' : 'ok', score: 0.8, threshold: 0.7, model: { name: 'patchcore-aitex', version, sha256: 'b'.repeat(64) }, decidedAt },
    label,
    reviewer: { subject: 'otto', name: 'Otto Operator' },
    reviewedAt: '2026-12-07T10:05:00Z',
    revision: 0,
    queue: flagged ? 'flagged' : 'sample',
    ...rest,
  });
}
