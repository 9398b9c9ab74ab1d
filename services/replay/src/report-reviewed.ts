/**
 * The report's "reviewed frames" section: the frames people labelled on the feedback topic, joined
 * with both verdict streams. A frame's label is its current one (the highest revision, folded by
 * `@loomwatch/quality`); *normals* are `false-alarm` and `ok-confirmed`, *defects*
 * `defect-confirmed` and `missed-defect`. Only frames decided by both sides are counted, so the
 * two sides are judged on the same frames. *parent* is the baseline (the production verdicts the
 * reviews answered), as in the retrainer's `ReplayCheck`, which is filled from `reviewed`.
 */
import { labelIsDefect, type FeedbackLabel } from '@loomwatch/contracts';
import type { JoinedFrame, ReviewedChange, ReviewedDetail, ReviewedFigures, VerdictPoint } from './report-model.js';

/** The feedback topic as the report read it: each labelled frame's current label. */
export interface ReviewedInput {
  topic: string;
  labels: ReadonlyMap<string, FeedbackLabel>;
  /** Valid feedback records read. */
  messages: number;
  invalid: number;
}

function scoreDelta(frame: JoinedFrame): number {
  return frame.candidate.score - frame.baseline.score;
}

function countOf(frames: readonly JoinedFrame[]): ReviewedFigures['normals'] {
  return {
    reviewed: frames.length,
    parentFlagged: frames.filter((frame) => frame.baseline.verdict === 'defect').length,
    candidateFlagged: frames.filter((frame) => frame.candidate.verdict === 'defect').length,
  };
}

function changeOf(frame: JoinedFrame, label: FeedbackLabel): ReviewedChange {
  const side = (point: VerdictPoint): ReviewedChange['baseline'] => ({ verdict: point.verdict, score: point.score, model: point.model, ...(point.overlay === undefined ? {} : { overlay: point.overlay }) });
  return {
    frameId: frame.frameId,
    lineId: frame.candidate.lineId,
    cameraId: frame.candidate.cameraId,
    label,
    baseline: side(frame.baseline),
    candidate: side(frame.candidate),
    // A changed verdict on a labelled frame now either agrees with the label or no longer does.
    effect: (frame.candidate.verdict === 'defect') === labelIsDefect(label) ? 'fixed' : 'broken',
  };
}

/**
 * The counts (`reviewed`, exactly the fields of `ReplayCheck`) and the detail: how many labelled
 * frames either side lacks, and the reviewed frames whose verdict changed — broken ones first,
 * then largest |score delta|, at most `limit`.
 */
export function reviewedSection(
  feedback: ReviewedInput,
  candidate: ReadonlyMap<string, VerdictPoint>,
  baseline: ReadonlyMap<string, VerdictPoint>,
  limit: number,
): { reviewed: ReviewedFigures; detail: ReviewedDetail } {
  const normals: JoinedFrame[] = [];
  const defects: JoinedFrame[] = [];
  const changed: ReviewedChange[] = [];
  let withoutCandidate = 0;
  let withoutBaseline = 0;
  const deltas = new Map<string, number>();
  for (const [frameId, label] of feedback.labels) {
    const candidatePoint = candidate.get(frameId);
    const baselinePoint = baseline.get(frameId);
    if (candidatePoint === undefined) withoutCandidate += 1;
    if (baselinePoint === undefined) withoutBaseline += 1;
    if (candidatePoint === undefined || baselinePoint === undefined) continue;
    const frame: JoinedFrame = { frameId, candidate: candidatePoint, baseline: baselinePoint };
    (labelIsDefect(label) ? defects : normals).push(frame);
    if (candidatePoint.verdict !== baselinePoint.verdict) {
      changed.push(changeOf(frame, label));
      deltas.set(frameId, scoreDelta(frame));
    }
  }
  const order = (a: ReviewedChange, b: ReviewedChange): number =>
    (a.effect === b.effect ? 0 : a.effect === 'broken' ? -1 : 1) ||
    Math.abs(deltas.get(b.frameId) ?? 0) - Math.abs(deltas.get(a.frameId) ?? 0) ||
    (a.frameId < b.frameId ? -1 : a.frameId > b.frameId ? 1 : 0);
  return {
    reviewed: { frames: normals.length + defects.length, normals: countOf(normals), defects: countOf(defects) },
    detail: {
      feedbackTopic: feedback.topic,
      messages: feedback.messages,
      invalid: feedback.invalid,
      labelled: feedback.labels.size,
      withoutCandidate,
      withoutBaseline,
      changedCount: { fixed: changed.filter((c) => c.effect === 'fixed').length, broken: changed.filter((c) => c.effect === 'broken').length },
      changed: changed.sort(order).slice(0, limit),
      changedListLimit: limit,
    },
  };
}
