/**
 * The operators' reviews: the answer a page sends for one frame, the `feedback.v1` record the
 * server makes of it, the reviews the dashboard has read (the book), and the review queue.
 *
 * Glossary: answer — what the reviewer says of one frame (`POST /api/feedback`'s body) · record —
 * the `feedback.v1` message: the answer, the verdict and image it answers, the reviewer, the time
 * and the revision · revision — 0 for a frame's first review, one more for each later one (a second
 * review never overwrites the first) · sample — the ok verdicts drawn at 1 in N by a seeded hash of
 * the frame id, whatever their score: the only reviews the miss rate is estimated from.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { FrameEvent} from '@loomwatch/contracts';
import { Feedback, FeedbackLabel, Id, ReviewQueue, ReviewRegion, Timestamp, type Verdict } from '@loomwatch/contracts';
import { HttpProblem } from './problem.js';
import type { QueueAnswer, QueueItem } from './review-item.js';
import type { CameraView } from './view.js';

export type { QueueAnswer, QueueItem } from './review-item.js';

/** `POST /api/feedback`'s body: one answer for one frame; the frame is found by line, camera, id and capture time. */
export const FeedbackAnswer = z.strictObject({
  /** Made by the page once per answer: a double click or a retried request is one record. */
  feedbackId: Id,
  frameId: Id,
  lineId: Id,
  cameraId: Id,
  /** The verdict's capture time: where the frame and its verdict are looked for on the topics. */
  capturedAt: Timestamp,
  label: FeedbackLabel,
  regions: z.array(ReviewRegion).max(64).optional(),
  defectCode: z.string().min(1).max(32).optional(),
  note: z.string().max(1000).optional(),
  /** Why the frame was in front of the reviewer; `browsing` when not from the queue. @defaultValue 'browsing' */
  queue: ReviewQueue.default('browsing'),
});
export type FeedbackAnswer = z.infer<typeof FeedbackAnswer>;

/** The body as an answer, or 400 `BODY_INVALID` naming what is wrong. */
export function parseFeedbackAnswer(body: unknown): FeedbackAnswer {
  const parsed = FeedbackAnswer.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue === undefined || issue.path.length === 0 ? 'the body' : issue.path.join('.');
  throw new HttpProblem(
    'BODY_INVALID',
    400,
    `${where}: ${issue?.message ?? 'not valid'} — send { "feedbackId", "frameId", "lineId", "cameraId", "capturedAt", "label": ${FeedbackLabel.options.map((l) => `"${l}"`).join(' | ')}, "regions"?, "defectCode"?, "note"?, "queue"? }`,
  );
}

/** The labels that answer a verdict: a flagged frame is confirmed or a false alarm; an ok frame confirmed or a missed defect. */
export const LABELS_OF: Readonly<Record<Verdict['verdict'], readonly FeedbackLabel[]>> = {
  defect: ['defect-confirmed', 'false-alarm'],
  ok: ['ok-confirmed', 'missed-defect'],
};

/**
 * The `feedback.v1` record of an answer to `verdict` (of frame event `frame`), or 400
 * `LABEL_INVALID` when the label does not answer that verdict.
 */
export function feedbackRecord(
  answer: FeedbackAnswer,
  verdict: Verdict,
  frame: FrameEvent,
  reviewer: { subject: string; name: string },
  revision: number,
  now: Date,
): Feedback {
  if (!LABELS_OF[verdict.verdict].includes(answer.label)) {
    throw new HttpProblem('LABEL_INVALID', 400, `frame ${answer.frameId} was judged ${verdict.verdict}: answer ${LABELS_OF[verdict.verdict].join(' or ')}, not ${answer.label}`);
  }
  const fabricCode = verdict.fabricCode ?? frame.product?.fabricCode;
  return Feedback.parse({
    feedbackId: answer.feedbackId,
    frameId: answer.frameId,
    lineId: verdict.lineId,
    cameraId: verdict.cameraId,
    ...(fabricCode === undefined ? {} : { fabricCode }),
    image: { bucket: frame.image.bucket, key: frame.image.key, sha256: frame.image.sha256 },
    verdict: { verdict: verdict.verdict, score: verdict.score, threshold: verdict.threshold, model: verdict.model, decidedAt: verdict.decidedAt },
    label: answer.label,
    regions: answer.regions ?? [],
    ...(answer.defectCode === undefined ? {} : { defectCode: answer.defectCode }),
    ...(answer.note === undefined ? {} : { note: answer.note }),
    reviewer: { subject: reviewer.subject.slice(0, 256), name: reviewer.name.slice(0, 256) },
    reviewedAt: now.toISOString(),
    revision,
    queue: answer.queue,
  });
}

/**
 * The reviews the dashboard has read from `feedback.v1` (and published itself): by feedback id and
 * by frame. The first record of an id is kept, as every consumer of the topic does.
 */
export class ReviewBook {
  private readonly byId = new Map<string, Feedback>();
  private readonly byFrame = new Map<string, Feedback[]>();

  get size(): number {
    return this.byId.size;
  }

  /** Adds a record; false when its id is known already (the record is ignored). */
  add(record: Feedback): boolean {
    if (this.byId.has(record.feedbackId)) return false;
    this.byId.set(record.feedbackId, record);
    const reviews = [...(this.byFrame.get(record.frameId) ?? []), record].sort((a, b) => a.revision - b.revision || Date.parse(a.reviewedAt) - Date.parse(b.reviewedAt));
    this.byFrame.set(record.frameId, reviews);
    return true;
  }

  get(feedbackId: string): Feedback | undefined {
    return this.byId.get(feedbackId);
  }

  /** The frame's reviews, oldest revision first. */
  of(frameId: string): readonly Feedback[] {
    return this.byFrame.get(frameId) ?? [];
  }

  reviewed(frameId: string): boolean {
    return this.byFrame.has(frameId);
  }

  /** 0 for a frame's first review, else one more than its highest revision. */
  nextRevision(frameId: string): number {
    const reviews = this.of(frameId);
    return reviews.length === 0 ? 0 : Math.max(...reviews.map((r) => r.revision)) + 1;
  }

  all(): IterableIterator<Feedback> {
    return this.byId.values();
  }
}

/** How the review queue chooses. */
export interface QueueOptions {
  /** An ok verdict whose score is at least this fraction of its threshold is near it. @defaultValue 0.8 */
  nearThreshold: number;
  /** 1 in this many ok verdicts is in the sample. @defaultValue 20 */
  sampleOneIn: number;
  /** Seeds the sample's hash: the same seed draws the same frames on every replica and after a restart. */
  sampleSeed: string;
}

/**
 * Whether an ok verdict's frame is in the sample: the first 4 bytes of sha256(`seed:frameId`), as
 * an unsigned integer, are divisible by `oneIn`. The draw depends on the frame id alone — not on
 * the score, the time or who looks — so the sample's reviewed frames are an unbiased sample of the
 * ok verdicts, and the share of missed defects among them estimates the miss rate.
 */
export function inSample(frameId: string, options: Pick<QueueOptions, 'sampleOneIn' | 'sampleSeed'>): boolean {
  return createHash('sha256').update(`${options.sampleSeed}:${frameId}`).digest().readUInt32BE(0) % options.sampleOneIn === 0;
}

/**
 * The review queue over the verdicts the view holds (each camera's last `view.verdictsPerCamera`):
 * the flagged frames not yet reviewed, newest first; then the ok frames near their threshold,
 * the highest score/threshold first; then the ok frames in the sample, newest first. Reviewed
 * frames, and those in `skip`, are left out. A sampled frame is always `sample`, even when near its
 * threshold, so the sample stays a draw over every ok verdict.
 */
export function reviewQueue(cameras: Iterable<CameraView>, book: Pick<ReviewBook, 'reviewed'>, options: QueueOptions, skip: ReadonlySet<string> = new Set()): QueueAnswer {
  const tiers: Record<QueueItem['queue'], QueueItem[]> = { flagged: [], 'near-threshold': [], sample: [] };
  for (const camera of cameras) {
    for (const point of camera.recent) {
      if (skip.has(point.frameId) || book.reviewed(point.frameId)) continue;
      const queue = point.verdict === 'defect' ? 'flagged' : inSample(point.frameId, options) ? 'sample' : point.score / point.threshold >= options.nearThreshold ? 'near-threshold' : undefined;
      if (queue === undefined) continue;
      const { frameId, capturedAt, decidedAt, verdict, score, threshold } = point;
      tiers[queue].push({ queue, lineId: camera.lineId, cameraId: camera.cameraId, frameId, capturedAt, decidedAt, verdict, score, threshold });
    }
  }
  const newest = (a: QueueItem, b: QueueItem) => Date.parse(b.capturedAt) - Date.parse(a.capturedAt) || a.frameId.localeCompare(b.frameId);
  tiers.flagged.sort(newest);
  tiers['near-threshold'].sort((a, b) => b.score / b.threshold - a.score / a.threshold || newest(a, b));
  tiers.sample.sort(newest);
  const next = tiers.flagged[0] ?? tiers['near-threshold'][0] ?? tiers.sample[0];
  return { ...(next === undefined ? {} : { next }), waiting: { flagged: tiers.flagged.length, 'near-threshold': tiers['near-threshold'].length, sample: tiers.sample.length } };
}
