import { describe, expect, it } from 'vitest';
import type { FeedbackLabel } from '@loomwatch/contracts';
import { buildReport } from './report-figures.js';
import { reviewedSection } from './report-reviewed.js';
import { craftedInputs, craftedReviews, point } from './report-test-fixtures.js';

describe('the reviewed frames of a report', () => {
  const inputs = craftedInputs();
  const section = reviewedSection(craftedReviews(), inputs.candidate.verdicts.byFrame, inputs.baseline.verdicts.byFrame, 50);

  it('counts the labelled frames both sides decided, by normals and defects, and what each side flagged', () => {
    // normals f1, f2, f3: the baseline flagged f3, the candidate f2; defects f4: both flagged it.
    expect(section.reviewed).toEqual({
      frames: 4,
      normals: { reviewed: 3, parentFlagged: 1, candidateFlagged: 1 },
      defects: { reviewed: 1, parentFlagged: 1, candidateFlagged: 1 },
    });
  });

  it('says how many labelled frames either side lacks', () => {
    expect(section.detail).toMatchObject({ feedbackTopic: 'feedback.v1', messages: 9, invalid: 1, labelled: 7, withoutCandidate: 2, withoutBaseline: 2 });
  });

  it('lists the reviewed frames whose verdict changed, broken before fixed, with each side\'s verdict and score', () => {
    expect(section.detail.changedCount).toEqual({ fixed: 1, broken: 1 });
    expect(section.detail.changed).toEqual([
      {
        frameId: 'f2',
        lineId: 'line-1',
        cameraId: 'cam-1',
        label: 'false-alarm',
        effect: 'broken',
        baseline: { verdict: 'ok', score: 0.3, model: 'draem-aitex@1.0.0' },
        candidate: { verdict: 'defect', score: 0.7, model: 'draem-aitex@1.2.0' },
      },
      expect.objectContaining({ frameId: 'f3', label: 'false-alarm', effect: 'fixed', baseline: expect.objectContaining({ verdict: 'defect', score: 0.8 }) }),
    ]);
  });

  it('calls a change fixed when the candidate now agrees with a defect label, and orders by |score delta| within an effect', () => {
    const labels = new Map<string, FeedbackLabel>([
      ['a', 'missed-defect'],
      ['b', 'defect-confirmed'],
    ]);
    const baseline = new Map([
      ['a', point('a', 'ok', 0.45)],
      ['b', point('b', 'ok', 0.2)],
    ]);
    const candidate = new Map([
      ['a', point('a', 'defect', 0.55)],
      ['b', point('b', 'defect', 0.9)],
    ]);
    const { reviewed, detail } = reviewedSection({ topic: 'f', labels, messages: 2, invalid: 0 }, candidate, baseline, 1);
    expect(reviewed.defects).toEqual({ reviewed: 2, parentFlagged: 0, candidateFlagged: 2 });
    expect(detail.changedCount).toEqual({ fixed: 2, broken: 0 });
    // The limit keeps the largest change.
    expect(detail.changed.map((change) => [change.frameId, change.effect])).toEqual([['b', 'fixed']]);
    expect(detail.changedListLimit).toBe(1);
  });

  it('carries each side\'s overlay where the verdict named one', () => {
    const labels = new Map<string, FeedbackLabel>([['a', 'false-alarm']]);
    const overlay = { bucket: 'results', key: 'overlays/a.jpg' };
    const { detail } = reviewedSection(
      { topic: 'f', labels, messages: 1, invalid: 0 },
      new Map([['a', point('a', 'ok', 0.1, { overlay })]]),
      new Map([['a', point('a', 'defect', 0.9)]]),
      50,
    );
    expect(detail.changed[0]?.candidate.overlay).toEqual(overlay);
    expect(detail.changed[0]?.baseline).not.toHaveProperty('overlay');
  });

  it('is in the report only when the reviews were read', () => {
    expect(buildReport(craftedInputs())).not.toHaveProperty('reviewed');
    const report = buildReport({ ...craftedInputs(), feedback: craftedReviews() });
    expect(report.reviewed).toEqual(section.reviewed);
    expect(report.reviewedFrames?.changed.map((change) => change.frameId)).toEqual(['f2', 'f3']);
  });
});
