/**
 * The operator's review of a verdict (`feedback.v1`) and the labelled data set frozen from the
 * reviews (a dataset snapshot's manifest). A review never overwrites another: a second review of a
 * frame is a new record with the next `revision`; the latest revision of a frame is its label.
 */
import { z } from 'zod';
import { Id, ObjectRef, Sha256, Timestamp } from './primitives.js';
import { ModelRef, VerdictKind } from './verdict.js';

/**
 * What the reviewer says: on a flagged frame `defect-confirmed` or `false-alarm`; on an ok frame
 * `ok-confirmed` or `missed-defect` (with the region drawn).
 */
export const FeedbackLabel = z.enum(['defect-confirmed', 'false-alarm', 'ok-confirmed', 'missed-defect']);
export type FeedbackLabel = z.infer<typeof FeedbackLabel>;

/** Whether a label says the frame holds a defect (the truth the quality measures count). */
export function labelIsDefect(label: FeedbackLabel): boolean {
  return label === 'defect-confirmed' || label === 'missed-defect';
}

/**
 * Why the frame was in front of the reviewer. Only `sample` frames are an unbiased sample of the ok
 * verdicts, so the miss rate is estimated from them alone; `flagged` and `near-threshold` are chosen.
 */
export const ReviewQueue = z.enum(['flagged', 'near-threshold', 'sample', 'browsing']);
export type ReviewQueue = z.infer<typeof ReviewQueue>;

/** An area of the frame the reviewer marked, in frame pixels. */
export const ReviewRegion = z.strictObject({
  x: z.int().nonnegative(),
  y: z.int().nonnegative(),
  width: z.int().positive(),
  height: z.int().positive(),
});
export type ReviewRegion = z.infer<typeof ReviewRegion>;

/** One review of one frame's verdict, published on `feedback.v1` keyed `lineId:cameraId`. */
export const Feedback = z.strictObject({
  /**
   * The idempotency key: the client makes it once per answer, so a double click or a retried
   * request is one record (consumers keep the first record of an id).
   */
  feedbackId: Id,
  frameId: Id,
  lineId: Id,
  cameraId: Id,
  /** The frame's fabric, from its verdict; absent when the camera sent none. */
  fabricCode: z.string().min(1).max(32).optional(),
  /** The frame's image, from its FrameEvent: what a data set is built from. */
  image: z.strictObject({ ...ObjectRef.shape, sha256: Sha256 }),
  /** The verdict the review answers. */
  verdict: z.strictObject({
    verdict: VerdictKind,
    score: z.number().min(0).max(1),
    threshold: z.number().min(0).max(1),
    model: ModelRef,
    decidedAt: Timestamp,
  }),
  label: FeedbackLabel,
  /** Marked areas: where the missed or confirmed defect is. Empty for a false alarm or an ok frame. */
  regions: z.array(ReviewRegion).max(64).default([]),
  /** The defect's code (AITEX codes such as `002`, or the plant's own). */
  defectCode: z.string().min(1).max(32).optional(),
  note: z.string().max(1000).optional(),
  reviewer: z.strictObject({
    /** The identity provider's subject. */
    subject: z.string().min(1).max(256),
    name: z.string().min(1).max(256),
  }),
  reviewedAt: Timestamp,
  /** 0 for a frame's first review, then 1, 2, … ; the highest is the frame's label. */
  revision: z.int().nonnegative(),
  queue: ReviewQueue,
});
export type Feedback = z.infer<typeof Feedback>;

/** One frame of a labelled data set: its image, its latest label and who said it. */
export const DatasetEntry = z.strictObject({
  frameId: Id,
  lineId: Id,
  cameraId: Id,
  fabricCode: z.string().min(1).max(32).optional(),
  image: z.strictObject({ ...ObjectRef.shape, sha256: Sha256 }),
  label: FeedbackLabel,
  regions: z.array(ReviewRegion).max(64),
  defectCode: z.string().min(1).max(32).optional(),
  /** Every reviewer of the frame, oldest first. */
  reviewers: z.array(z.string().min(1).max(256)).min(1),
  /** The feedback record the label comes from (the frame's latest revision). */
  feedbackId: Id,
  revision: z.int().nonnegative(),
  queue: ReviewQueue,
  /** The verdict the label answers: the model version and what it said. */
  verdict: z.strictObject({ verdict: VerdictKind, score: z.number().min(0).max(1), threshold: z.number().min(0).max(1), model: ModelRef }),
  /**
   * Where `loomwatch dataset pull` puts the image, relative to the data set's folder:
   * `normal/<fabric>/<frameId>.png` for `false-alarm` / `ok-confirmed`,
   * `defect/<fabric>/<frameId>.png` for `defect-confirmed` / `missed-defect` (`<fabric>` is
   * `unknown` without a fabric code), with the marked regions beside it as `<frameId>.regions.json`.
   */
  path: z.string().regex(/^(normal|defect)\/[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+\.png$/),
});
export type DatasetEntry = z.infer<typeof DatasetEntry>;

/**
 * A frozen, content-addressed labelled data set: `id` is the sha256 of the manifest without `id`
 * and `createdAt` in canonical JSON (sorted keys), so two snapshots of the same feedback are one.
 * Stored at `s3://<bucket>/snapshots/<id>/manifest.json`; `dataset pull` writes it as `manifest.json`.
 */
export const DatasetManifest = z.strictObject({
  id: Sha256,
  /** The snapshot this one extends (the previous snapshot of the same topic), absent for the first. */
  parent: Sha256.optional(),
  createdAt: Timestamp,
  /** The feedback read: up to these offsets (exclusive) of each partition of the topic. */
  source: z.strictObject({ topic: z.string().min(1), offsets: z.record(z.string().regex(/^\d+$/), z.int().nonnegative()) }),
  entries: z.array(DatasetEntry),
});
export type DatasetManifest = z.infer<typeof DatasetManifest>;
