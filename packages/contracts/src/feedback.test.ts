import { describe, expect, it } from 'vitest';
import { DatasetEntry, Feedback, labelIsDefect } from './feedback.js';

const review = {
  feedbackId: 'a1b2c3',
  frameId: 'line-1.cam-1.17.abc',
  lineId: 'line-1',
  cameraId: 'cam-1',
  fabricCode: '05',
  image: { bucket: 'loomwatch-frames', key: 'frames/line-1/cam-1/17.png', sha256: 'a'.repeat(64) },
  verdict: { verdict: 'defect', score: 0.8, threshold: 0.7, model: { name: 'patchcore-aitex', version: '1.2.0', sha256: 'b'.repeat(64) }, decidedAt: '2026-12-07T10:00:00Z' },
  label: 'false-alarm',
  reviewer: { subject: 'otto', name: 'Otto Operator' },
  reviewedAt: '2026-12-07T10:05:00Z',
  revision: 0,
  queue: 'flagged',
};

describe('feedback.v1', () => {
  it('takes a review, with no regions by default, and refuses an unknown label or a negative revision', () => {
    expect(Feedback.parse(review).regions).toEqual([]);
    expect(Feedback.safeParse({ ...review, label: 'maybe' }).success).toBe(false);
    expect(Feedback.safeParse({ ...review, revision: -1 }).success).toBe(false);
    expect(Feedback.safeParse({ ...review, extra: 1 }).success).toBe(false);
  });

  it('counts confirmed and missed defects as defects, false alarms and confirmed ok frames as normal', () => {
    expect(['defect-confirmed', 'false-alarm', 'ok-confirmed', 'missed-defect'].map((label) => labelIsDefect(label as never))).toEqual([true, false, false, true]);
  });

  it('lays a data set entry out under normal/ or defect/ and its fabric', () => {
    const entry = { ...review, regions: [], reviewers: ['otto'], path: 'normal/05/line-1.cam-1.17.abc.png' } as Record<string, unknown>;
    delete entry['reviewer'];
    delete entry['reviewedAt'];
    entry['verdict'] = { verdict: 'defect', score: 0.8, threshold: 0.7, model: review.verdict.model };
    expect(DatasetEntry.safeParse(entry).success).toBe(true);
    expect(DatasetEntry.safeParse({ ...entry, path: '../etc/passwd.png' }).success).toBe(false);
  });
});
