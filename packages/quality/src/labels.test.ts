import { describe, expect, it } from 'vitest';
import { review } from './fixtures.js';
import { applyFeedback, currentLabels } from './labels.js';


describe('folding feedback into labels', () => {
  it('takes the highest revision of a frame as its label, whatever order the revisions arrive in', () => {
    const first = review('f1', 'false-alarm');
    const second = review('f1', 'defect-confirmed', { revision: 1, reviewedAt: '2026-12-07T11:00:00Z' });
    for (const order of [[first, second], [second, first]]) {
      const label = currentLabels(order).get('f1');
      expect(label).toMatchObject({ label: 'defect-confirmed', revision: 1, feedbackId: second.feedbackId });
      expect(label?.feedbackIds.toSorted()).toEqual([first.feedbackId, second.feedbackId].toSorted());
    }
  });

  it('keeps the first record of a feedback id: a retried request with another answer changes nothing', () => {
    const first = review('f1', 'false-alarm');
    const retried = { ...review('f1', 'defect-confirmed', { revision: 3 }), feedbackId: first.feedbackId };
    expect(applyFeedback(applyFeedback(undefined, first), retried)).toBeUndefined();
    expect(currentLabels([first, retried, first]).get('f1')).toMatchObject({ label: 'false-alarm', revision: 0, feedbackIds: [first.feedbackId] });
  });

  it('settles two reviews of the same revision by the later review, then the greater id', () => {
    const early = review('f1', 'false-alarm', { feedbackId: 'zz', reviewedAt: '2026-12-07T10:05:00Z' });
    const late = review('f1', 'defect-confirmed', { feedbackId: 'aa', reviewedAt: '2026-12-07T10:06:00Z' });
    expect(currentLabels([late, early]).get('f1')?.label).toBe('defect-confirmed');
    expect(currentLabels([early, late]).get('f1')?.label).toBe('defect-confirmed');
    const tied = { ...late, feedbackId: 'ab', reviewedAt: early.reviewedAt };
    expect(currentLabels([tied, early]).get('f1')?.feedbackId).toBe('zz');
  });

  it('keeps a sampled frame in the sample when a later review came from elsewhere', () => {
    const sampled = review('f2', 'ok-confirmed', { queue: 'sample' });
    const browsed = review('f2', 'missed-defect', { queue: 'browsing', revision: 1 });
    expect(currentLabels([sampled, browsed]).get('f2')).toMatchObject({ label: 'missed-defect', sampled: true });
    expect(currentLabels([review('f3', 'missed-defect', { queue: 'near-threshold' })]).get('f3')?.sampled).toBe(false);
  });

  it('does not fold a record of another frame into a label', () => {
    const label = applyFeedback(undefined, review('f1', 'false-alarm'));
    expect(applyFeedback(label, review('f9', 'false-alarm', { revision: 1 }))).toBeUndefined();
  });
});
