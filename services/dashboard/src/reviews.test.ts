import { describe, expect, it } from 'vitest';
import { Feedback } from '@loomwatch/contracts';
import { ReviewBook, feedbackRecord, inSample, parseFeedbackAnswer, reviewQueue, type FeedbackAnswer, type QueueOptions } from './reviews.js';
import { frameFixture, verdictFixture } from './testing.js';
import { applyEvent, emptyView, verdictView, type CameraView } from './view.js';

const NOW = new Date('2026-12-08T10:00:00Z');
const OTTO = { subject: 'otto-sub', name: 'Otto Operator' };
const QUEUE: QueueOptions = { nearThreshold: 0.8, sampleOneIn: 4, sampleSeed: 'test' };

function answerFor(seq: number, label: FeedbackAnswer['label'], feedbackId = `fb-${seq}-${label}`, defect = label === 'defect-confirmed' || label === 'false-alarm'): FeedbackAnswer {
  const verdict = verdictFixture(seq, { defect, at: NOW });
  return parseFeedbackAnswer({ feedbackId, frameId: verdict.frameId, lineId: verdict.lineId, cameraId: verdict.cameraId, capturedAt: verdict.capturedAt, label });
}

function recordFor(seq: number, label: FeedbackAnswer['label'], revision = 0, feedbackId?: string): Feedback {
  const defect = label === 'defect-confirmed' || label === 'false-alarm';
  const verdict = verdictFixture(seq, { defect, at: NOW });
  return feedbackRecord(answerFor(seq, label, feedbackId), verdict, frameFixture(verdict), OTTO, revision, NOW);
}

/** One camera holding `points` (seq, defect?, score) as the view would. */
function cameraWith(points: readonly (readonly [number, boolean, number])[]): CameraView[] {
  let state = emptyView();
  for (const [seq, defect, score] of points) {
    const verdict = { ...verdictFixture(seq, { defect, at: new Date(NOW.getTime() + seq * 1000) }), score };
    state = applyEvent(state, { type: 'verdict', verdict: verdictView(verdict) });
  }
  return Object.values(state.cameras);
}

describe('a review', () => {
  it('becomes a feedback.v1 record: the answer, the verdict and image it answers, the reviewer, the time and the revision', () => {
    const verdict = verdictFixture(3, { defect: true, at: NOW });
    const answer = parseFeedbackAnswer({ feedbackId: 'fb-1', frameId: verdict.frameId, lineId: 'line-1', cameraId: 'cam-1', capturedAt: verdict.capturedAt, label: 'false-alarm', note: 'a fold, not a defect', queue: 'flagged' });
    const record = feedbackRecord(answer, verdict, frameFixture(verdict), OTTO, 2, NOW);
    expect(Feedback.parse(record)).toEqual({
      feedbackId: 'fb-1',
      frameId: verdict.frameId,
      lineId: 'line-1',
      cameraId: 'cam-1',
      fabricCode: '05',
      image: { bucket: 'loomwatch-frames', key: `frames/line-1/cam-1/${verdict.frameId}.png`, sha256: 'cd'.repeat(32) },
      verdict: { verdict: 'defect', score: verdict.score, threshold: 0.5, model: verdict.model, decidedAt: verdict.decidedAt },
      label: 'false-alarm',
      regions: [],
      note: 'a fold, not a defect',
      reviewer: OTTO,
      reviewedAt: NOW.toISOString(),
      revision: 2,
      queue: 'flagged',
    });
  });

  it('is refused with 400 LABEL_INVALID when its label does not answer the verdict', () => {
    const verdict = verdictFixture(3, { defect: false, at: NOW });
    expect(() => feedbackRecord(answerFor(3, 'false-alarm', 'x', false), verdict, frameFixture(verdict), OTTO, 0, NOW)).toThrow(
      expect.objectContaining({ code: 'LABEL_INVALID', status: 400, message: expect.stringContaining('ok-confirmed or missed-defect') as unknown }),
    );
  });

  it.each([[{}], [{ feedbackId: 'a', frameId: 'f', lineId: 'l', cameraId: 'c', capturedAt: NOW.toISOString(), label: 'maybe' }], ['x'], [undefined]])('refuses the body %j with 400 BODY_INVALID saying what to send', (body) => {
    expect(() => parseFeedbackAnswer(body)).toThrow(expect.objectContaining({ code: 'BODY_INVALID', status: 400, message: expect.stringContaining('"feedbackId"') as unknown }));
  });

  it('from the frame view, not the queue, is recorded as browsing', () => {
    expect(answerFor(1, 'ok-confirmed').queue).toBe('browsing');
  });
});

describe('the review book', () => {
  it('numbers a frame\'s reviews 0, 1, 2 and keeps every one: a second review never overwrites the first', () => {
    const book = new ReviewBook();
    expect(book.nextRevision('line-1.cam-1.3')).toBe(0);
    book.add(recordFor(3, 'defect-confirmed', 0, 'a'));
    expect(book.nextRevision('line-1.cam-1.3')).toBe(1);
    book.add(recordFor(3, 'false-alarm', 1, 'b'));
    expect(book.nextRevision('line-1.cam-1.3')).toBe(2);
    expect(book.of('line-1.cam-1.3').map((r) => [r.feedbackId, r.revision, r.label])).toEqual([
      ['a', 0, 'defect-confirmed'],
      ['b', 1, 'false-alarm'],
    ]);
    expect(book.nextRevision('line-1.cam-1.4')).toBe(0);
  });

  it('keeps the first record of an id, as every consumer of feedback.v1 does', () => {
    const book = new ReviewBook();
    expect(book.add(recordFor(3, 'defect-confirmed', 0, 'same'))).toBe(true);
    expect(book.add(recordFor(3, 'false-alarm', 1, 'same'))).toBe(false);
    expect(book.get('same')?.label).toBe('defect-confirmed');
    expect(book.of('line-1.cam-1.3')).toHaveLength(1);
    expect(book.size).toBe(1);
  });
});

describe('the review queue', () => {
  it('offers the flagged frames first, newest first, then the ok frames nearest their threshold, then the sample', () => {
    // Scores against the fixture's threshold 0.5: 0.45 and 0.42 are near it (≥ 0.8 × 0.5), 0.1 is not.
    const points = [
      [1, true, 0.7],
      [2, true, 0.9],
      [3, false, 0.42],
      [4, false, 0.45],
      ...Array.from({ length: 40 }, (_, i) => [10 + i, false, 0.1] as const),
    ] as const;
    const okIds = points.filter(([, defect]) => !defect).map(([seq]) => `line-1.cam-1.${seq}`);
    const cameras = cameraWith(points);
    const book = new ReviewBook();
    const order: string[] = [];
    const skip = new Set<string>();
    for (;;) {
      const { next } = reviewQueue(cameras, book, QUEUE, skip);
      if (next === undefined) break;
      order.push(`${next.queue}:${next.frameId}`);
      skip.add(next.frameId);
    }
    const head = order.slice(0, 2);
    expect(head).toEqual(['flagged:line-1.cam-1.2', 'flagged:line-1.cam-1.1']);
    const near = order.filter((o) => o.startsWith('near-threshold:'));
    // Frames 3 and 4 are near, unless the hash drew them into the sample.
    expect(near).toEqual(['line-1.cam-1.4', 'line-1.cam-1.3'].filter((id) => !inSample(id, QUEUE)).map((id) => `near-threshold:${id}`));
    expect(order.slice(2, 2 + near.length)).toEqual(near);
    const sample = order.slice(2 + near.length);
    expect(sample.every((o) => o.startsWith('sample:'))).toBe(true);
    expect(sample.length).toBeGreaterThan(0);
    // The ok verdicts the hash drew (1 in 4, whatever their score), newest first.
    expect(sample.map((o) => o.slice('sample:'.length))).toEqual(okIds.filter((id) => inSample(id, QUEUE)).reverse());
  });

  it('leaves out the reviewed frames, and says how many wait in each part', () => {
    const cameras = cameraWith([
      [1, true, 0.7],
      [2, true, 0.9],
    ]);
    const book = new ReviewBook();
    expect(reviewQueue(cameras, book, QUEUE)).toMatchObject({ next: { frameId: 'line-1.cam-1.2', queue: 'flagged', lineId: 'line-1', cameraId: 'cam-1', verdict: 'defect' }, waiting: { flagged: 2 } });
    book.add(recordFor(2, 'defect-confirmed'));
    expect(reviewQueue(cameras, book, QUEUE)).toMatchObject({ next: { frameId: 'line-1.cam-1.1' }, waiting: { flagged: 1 } });
    book.add(recordFor(1, 'false-alarm'));
    expect(reviewQueue(cameras, book, QUEUE)).toEqual({ waiting: { flagged: 0, 'near-threshold': 0, sample: 0 } });
  });

  it('draws the sample by the frame id alone: about 1 in N, the same on every call, another draw with another seed', () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => `line-1.cam-1.${i}`);
    const drawn = ids.filter((id) => inSample(id, { sampleOneIn: 20, sampleSeed: 'a' }));
    // Binomial(20000, 1/20): mean 1000, sd ≈ 31; ±5 sd.
    expect(drawn.length).toBeGreaterThan(845);
    expect(drawn.length).toBeLessThan(1155);
    expect(ids.filter((id) => inSample(id, { sampleOneIn: 20, sampleSeed: 'a' }))).toEqual(drawn);
    expect(ids.filter((id) => inSample(id, { sampleOneIn: 20, sampleSeed: 'b' }))).not.toEqual(drawn);
    expect(ids.every((id) => inSample(id, { sampleOneIn: 1, sampleSeed: 'a' }))).toBe(true);
  });
});
