/**
 * The promotion guard, pure: whether a replayed candidate may go into canary without an engineer.
 * It promotes only a candidate that flags strictly fewer of the reviewed normals than the verdicts
 * people reviewed did, and catches no fewer of the reviewed defects; otherwise its findings, with
 * their figures, are the reasons the request stops at `replayed`.
 */
import { z } from 'zod';
import { Id, type ReplayCheck } from '@loomwatch/contracts';

/** A line, or a camera as `line:camera`, as `loomwatch rollout set --canary-lines/--canary-cameras` take them. */
const CameraRef = z.string().regex(/^[A-Za-z0-9._-]+:[A-Za-z0-9._-]+$/, 'a camera as line:camera');

/** `guard` in the retrainer's config; unknown keys are refused. */
export const GuardConfig = z
  .strictObject({
    /** `none`: every candidate waits for an engineer; `canary`: a candidate the guard passes decides the canary lines and cameras. @defaultValue 'none' */
    stage: z.enum(['none', 'canary']).default('none'),
    /** Lines the canary decides (`rollout set --canary-lines`). @defaultValue [] */
    canaryLines: z.array(Id).default([]),
    /** Cameras the canary decides, `line:camera` (`rollout set --canary-cameras`). @defaultValue [] */
    canaryCameras: z.array(CameraRef).default([]),
    /** Also refuse a candidate that still flags more than this share of the reviewed normals. @defaultValue none */
    maxNormalFlagRatio: z.number().min(0).max(1).optional(),
    /** Refuse a replay that decided fewer reviewed frames than this (too little to judge by). @defaultValue 1 */
    minFrames: z.int().positive().default(1),
  })
  .refine((guard) => guard.stage === 'none' || guard.canaryLines.length > 0 || guard.canaryCameras.length > 0, {
    message: 'guard.stage canary needs guard.canaryLines or guard.canaryCameras: otherwise the canary decides nothing',
    path: ['canaryLines'],
  });
export type GuardConfig = z.infer<typeof GuardConfig>;

/** Who the `promoted` record names when the guard promoted. */
export const GUARD_PROMOTER = 'retrain-guard';

export type GuardDecision = { promote: true; canary: { lines: string[]; cameras: string[] } } | { promote: false; reasons: string[] };

/** What the guard makes of a replay: promote to canary, or the reasons it stops at `replayed`. */
export function judgeCandidate(check: ReplayCheck, guard: GuardConfig): GuardDecision {
  if (guard.stage === 'none') return { promote: false, reasons: ['no guard configured (guard.stage none): an engineer promotes it with loomwatch rollout set'] };
  const { normals, defects } = check;
  const reasons: string[] = [];
  if (check.frames < guard.minFrames) reasons.push(`the replay decided ${check.frames} reviewed frames, fewer than guard.minFrames ${guard.minFrames}`);
  if (!(normals.candidateFlagged < normals.parentFlagged)) {
    reasons.push(`flags ${normals.candidateFlagged} of ${normals.reviewed} reviewed normals, not fewer than the ${normals.parentFlagged} the reviewed verdicts flagged`);
  }
  if (defects.candidateFlagged < defects.parentFlagged) {
    reasons.push(`catches ${defects.candidateFlagged} of ${defects.reviewed} reviewed defects, fewer than the ${defects.parentFlagged} the reviewed verdicts caught`);
  }
  if (guard.maxNormalFlagRatio !== undefined && normals.reviewed > 0 && normals.candidateFlagged / normals.reviewed > guard.maxNormalFlagRatio) {
    reasons.push(`still flags ${formatShare(normals.candidateFlagged / normals.reviewed)} of the reviewed normals, above guard.maxNormalFlagRatio ${formatShare(guard.maxNormalFlagRatio)}`);
  }
  if (reasons.length > 0) return { promote: false, reasons: reasons.map((reason) => `guard refused: ${reason}`) };
  return { promote: true, canary: { lines: [...guard.canaryLines], cameras: [...guard.canaryCameras] } };
}

function formatShare(share: number): string {
  return `${(share * 100).toFixed(1)} %`;
}
