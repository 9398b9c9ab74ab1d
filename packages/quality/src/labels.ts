/**
 * Feedback records folded into the current label of each frame. A frame may be reviewed many
 * times; each review is its own `feedback.v1` record, never an overwrite.
 *
 * - A `feedbackId` counts once: the first record of an id is kept, later ones (a double click, a
 *   retried request, a producer retry, an exact repeat) are ignored.
 * - The highest `revision` of a frame is its label. Two reviews with the same revision (two
 *   operators at once) are settled by the later `reviewedAt`, then the greater `feedbackId`, so
 *   every reader settles them alike.
 * - A frame counts as *sampled* when any of its reviews came from the `sample` queue: a frame drawn
 *   at random stays in the random sample when someone later re-reviews it while browsing.
 */
import type { Feedback, FeedbackLabel, ModelRef, VerdictKind } from '@loomwatch/contracts';

/** The current label of one reviewed frame, with what the quality figures group and count by. Plain JSON. */
export interface FrameLabel {
  frameId: string;
  lineId: string;
  cameraId: string;
  fabricCode?: string;
  /** The verdict the label answers. */
  verdict: VerdictKind;
  model: Pick<ModelRef, 'name' | 'version'>;
  decidedAt: string;
  label: FeedbackLabel;
  /** The record the label comes from. */
  feedbackId: string;
  revision: number;
  reviewedAt: string;
  /** Whether any review of the frame came from the `sample` queue (see the module comment). */
  sampled: boolean;
  /** Every feedback id folded into this frame, so a repeat of any is ignored. */
  feedbackIds: string[];
}

function supersedes(record: Feedback, current: FrameLabel): boolean {
  if (record.revision !== current.revision) return record.revision > current.revision;
  if (record.reviewedAt !== current.reviewedAt) return Date.parse(record.reviewedAt) > Date.parse(current.reviewedAt);
  return record.feedbackId > current.feedbackId;
}

/**
 * The frame's label after `record`: `undefined` when the record changes nothing (its feedback id
 * was seen before, or it belongs to another frame). A lower revision arriving late keeps the
 * current label but still counts its queue and id. Pure: `current` is not modified.
 */
export function applyFeedback(current: FrameLabel | undefined, record: Feedback): FrameLabel | undefined {
  if (current !== undefined && (current.frameId !== record.frameId || current.feedbackIds.includes(record.feedbackId))) return undefined;
  const feedbackIds = [...(current?.feedbackIds ?? []), record.feedbackId];
  const sampled = (current?.sampled ?? false) || record.queue === 'sample';
  if (current !== undefined && !supersedes(record, current)) return { ...current, sampled, feedbackIds };
  return {
    frameId: record.frameId,
    lineId: record.lineId,
    cameraId: record.cameraId,
    ...(record.fabricCode === undefined ? {} : { fabricCode: record.fabricCode }),
    verdict: record.verdict.verdict,
    model: { name: record.verdict.model.name, version: record.verdict.model.version },
    decidedAt: record.verdict.decidedAt,
    label: record.label,
    feedbackId: record.feedbackId,
    revision: record.revision,
    reviewedAt: record.reviewedAt,
    sampled,
    feedbackIds,
  };
}

/** Every frame's current label from feedback records in the order they were read (a topic's order). */
export function currentLabels(records: Iterable<Feedback>): Map<string, FrameLabel> {
  const labels = new Map<string, FrameLabel>();
  for (const record of records) {
    const next = applyFeedback(labels.get(record.frameId), record);
    if (next !== undefined) labels.set(record.frameId, next);
  }
  return labels;
}
