import { describe, expect, it } from 'vitest';
import type { Feedback } from '@loomwatch/contracts';
import { FeedbackDesk, type Judged } from './feedback.js';
import { ReviewBook, parseFeedbackAnswer, type FeedbackAnswer } from './reviews.js';
import { frameFixture, verdictFixture } from './testing.js';

const NOW = new Date('2026-12-08T10:00:00Z');
const OTTO = { subject: 'otto-sub', name: 'Otto Operator' };
const verdict = verdictFixture(5, { defect: true, at: NOW });
const judged: Judged = { verdict, frame: frameFixture(verdict) };
const judge = (): Promise<Judged> => Promise.resolve(judged);

function answer(feedbackId: string, label: FeedbackAnswer['label'] = 'false-alarm', frameId = verdict.frameId): FeedbackAnswer {
  return parseFeedbackAnswer({ feedbackId, frameId, lineId: verdict.lineId, cameraId: verdict.cameraId, capturedAt: verdict.capturedAt, label, queue: 'flagged' });
}

/** A desk whose publish takes a turn of the event loop, as a broker round trip does, and records what it sent. */
function deskWith(ready = true): { desk: FeedbackDesk; published: Feedback[]; book: ReviewBook } {
  const book = new ReviewBook();
  const published: Feedback[] = [];
  const desk = new FeedbackDesk({
    book,
    ready: () => ready,
    publish: async (record) => {
      await new Promise((resolve) => setImmediate(resolve));
      published.push(record);
    },
    now: () => NOW,
  });
  return { desk, published, book };
}

describe('the feedback desk', () => {
  it('publishes a feedback id once: a double click and a retry answer the stored record', async () => {
    const { desk, published } = deskWith();
    const [first, second] = await Promise.all([desk.submit(answer('fb-1'), OTTO, judge), desk.submit(answer('fb-1'), OTTO, judge)]);
    const retry = await desk.submit(answer('fb-1'), OTTO, () => Promise.reject(new Error('a known id is not looked up')));
    expect(published).toHaveLength(1);
    expect([first.created, second.created, retry.created].sort()).toEqual([false, false, true]);
    expect(retry.record).toEqual(published[0]);
    expect(second.record).toEqual(first.record);
  });

  it('gives reviews of one frame the next revision, even when they arrive together', async () => {
    const { desk, published, book } = deskWith();
    await Promise.all([desk.submit(answer('a', 'false-alarm'), OTTO, judge), desk.submit(answer('b', 'defect-confirmed'), OTTO, judge)]);
    await desk.submit(answer('c', 'false-alarm'), { subject: 'erin-sub', name: 'Erin Engineer' }, judge);
    expect(published.map((r) => r.revision).sort()).toEqual([0, 1, 2]);
    expect(book.of(verdict.frameId).map((r) => r.feedbackId)).toEqual(published.map((r) => r.feedbackId));
    expect(book.of(verdict.frameId).at(-1)).toMatchObject({ feedbackId: 'c', revision: 2, reviewer: { name: 'Erin Engineer' } });
  });

  it('records nothing when the publish fails, so the same id can be sent again', async () => {
    const book = new ReviewBook();
    let fail = true;
    const published: Feedback[] = [];
    const desk = new FeedbackDesk({
      book,
      ready: () => true,
      publish: (record) => {
        if (fail) return Promise.reject(new Error('brokers down'));
        published.push(record);
        return Promise.resolve();
      },
    });
    await expect(desk.submit(answer('fb-2'), OTTO, judge)).rejects.toThrow('brokers down');
    expect(book.get('fb-2')).toBeUndefined();
    fail = false;
    expect((await desk.submit(answer('fb-2'), OTTO, judge)).created).toBe(true);
    expect(published).toHaveLength(1);
    expect(published[0]?.revision).toBe(0);
  });

  it('refuses while the reviews are not read yet (503 FEEDBACK_NOT_READY) and an id reused for another frame (409)', async () => {
    await expect(deskWith(false).desk.submit(answer('x'), OTTO, judge)).rejects.toMatchObject({ code: 'FEEDBACK_NOT_READY', status: 503 });
    const { desk, published } = deskWith();
    await desk.submit(answer('y'), OTTO, judge);
    await expect(desk.submit(answer('y', 'false-alarm', 'line-1.cam-1.6'), OTTO, judge)).rejects.toMatchObject({ code: 'FEEDBACK_ID_REUSED', status: 409 });
    expect(published).toHaveLength(1);
  });
});
