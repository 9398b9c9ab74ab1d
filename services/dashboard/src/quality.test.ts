import { describe, expect, it } from 'vitest';
import type { FeedbackLabel, ReviewQueue } from '@loomwatch/contracts';
import { VerdictTally, qualityReport } from './quality.js';
import { ReviewBook, feedbackRecord, parseFeedbackAnswer } from './reviews.js';
import { frameFixture, verdictFixture } from './testing.js';

const NOW = new Date('2026-12-08T10:00:00Z');

function review(book: ReviewBook, seq: number, label: FeedbackLabel, queue: ReviewQueue, revision = 0): void {
  const defect = label === 'defect-confirmed' || label === 'false-alarm';
  const verdict = verdictFixture(seq, { defect, at: NOW });
  const answer = parseFeedbackAnswer({ feedbackId: `fb-${seq}-${revision}`, frameId: verdict.frameId, lineId: verdict.lineId, cameraId: verdict.cameraId, capturedAt: verdict.capturedAt, label, queue });
  book.add(feedbackRecord(answer, verdict, frameFixture(verdict), { subject: 'o', name: 'Otto' }, revision, NOW));
}

describe('the quality report', () => {
  it('measures precision over reviewed flagged frames, the miss rate over the sampled ok frames only, and coverage over the verdicts taken in', () => {
    const book = new ReviewBook();
    const tally = new VerdictTally();
    for (let seq = 1; seq <= 20; seq++) tally.add(verdictFixture(seq, { defect: seq <= 4, at: NOW }));
    review(book, 1, 'defect-confirmed', 'flagged');
    review(book, 2, 'defect-confirmed', 'flagged');
    review(book, 3, 'defect-confirmed', 'flagged');
    // Revision 1 of frame 3 says false alarm: the latest revision is the label.
    review(book, 3, 'false-alarm', 'browsing', 1);
    review(book, 10, 'missed-defect', 'sample');
    review(book, 11, 'ok-confirmed', 'sample');
    review(book, 12, 'ok-confirmed', 'sample');
    review(book, 13, 'ok-confirmed', 'sample');
    // A miss found near the threshold is not in the sample: it does not move the estimate.
    review(book, 14, 'missed-defect', 'near-threshold');
    const report = qualityReport(book, tally);
    expect(report.level).toBe(0.95);
    expect(report.overall?.precision).toMatchObject({ value: 2 / 3, successes: 2, trials: 3 });
    expect(report.overall?.missRate).toMatchObject({ value: 1 / 4, successes: 1, trials: 4 });
    const missRate = report.overall?.missRate;
    expect(missRate?.lower).toBeLessThan(0.25);
    expect(missRate?.upper).toBeGreaterThan(0.25);
    expect(report.overall?.coverage).toBeCloseTo(8 / 20);
    expect(report.cameras.map((c) => c.key)).toEqual(['line=line-1|camera=cam-1']);
    expect(report.groups.map((g) => g.key)).toEqual(['line=line-1|camera=cam-1|fabric=05|model=draem-aitex@1.0.0']);
  });

  it('has no figures before the first verdict or review', () => {
    expect(qualityReport(new ReviewBook(), new VerdictTally())).toMatchObject({ cameras: [], groups: [] });
    expect(qualityReport(new ReviewBook(), new VerdictTally()).overall).toBeUndefined();
  });
});
