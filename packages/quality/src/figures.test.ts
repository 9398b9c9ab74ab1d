import { describe, expect, it } from 'vitest';
import { qualityByGroup, type VerdictCount } from './figures.js';
import { currentLabels } from './labels.js';
import { review } from './fixtures.js';

const model = { name: 'patchcore-aitex', version: '1.2.0' };
const decided = (verdict: 'ok' | 'defect', count: number, fabricCode = '05', version = '1.2.0'): VerdictCount => ({
  lineId: 'line-1',
  cameraId: 'cam-1',
  fabricCode,
  model: { ...model, version },
  verdict,
  count,
});

describe('quality per group', () => {
  const records = [
    // fabric 05: 3 of 4 flagged frames confirmed (one after a second look), 1 miss in 4 sampled ok frames
    review('a1', 'defect-confirmed'),
    review('a2', 'defect-confirmed'),
    review('a3', 'false-alarm'),
    review('a4', 'false-alarm'),
    review('a4', 'defect-confirmed', { revision: 1 }),
    review('b1', 'ok-confirmed'),
    review('b2', 'ok-confirmed'),
    review('b3', 'ok-confirmed'),
    review('b4', 'missed-defect'),
    // chosen, not sampled: reviewed but no part of the miss-rate estimate
    review('b5', 'missed-defect', { queue: 'near-threshold' }),
    // fabric 07 on another model version: all false alarms
    review('c1', 'false-alarm', { fabric: '07', version: '1.3.0' }),
    review('c2', 'false-alarm', { fabric: '07', version: '1.3.0' }),
  ];
  const labels = [...currentLabels(records).values()];
  const counts = [decided('defect', 10), decided('ok', 90), decided('defect', 5, '07', '1.3.0'), decided('ok', 15, '07', '1.3.0')];

  it('computes precision, miss rate from the sample only, coverage and the counts behind them per fabric and model', () => {
    const groups = qualityByGroup(labels, counts);
    expect(groups.map((group) => group.key)).toEqual([
      'line=line-1|camera=cam-1|fabric=05|model=patchcore-aitex@1.2.0',
      'line=line-1|camera=cam-1|fabric=07|model=patchcore-aitex@1.3.0',
    ]);
    const [fabric05, fabric07] = groups;
    expect(fabric05?.group).toEqual({ lineId: 'line-1', cameraId: 'cam-1', fabricCode: '05', model });
    expect(fabric05?.counts).toEqual({ decided: { ok: 90, defect: 10 }, flagged: { reviewed: 4, confirmed: 3, falseAlarms: 1 }, ok: { reviewed: 5, sampled: 4, missedInSample: 1 } });
    expect(fabric05?.precision).toMatchObject({ value: 0.75, successes: 3, trials: 4 });
    // scipy: beta.ppf(0.025, 3, 2), beta.ppf(0.975, 4, 1)
    expect(fabric05?.precision?.lower).toBeCloseTo(0.1941204, 6);
    expect(fabric05?.precision?.upper).toBeCloseTo(0.9936905, 6);
    expect(fabric05?.missRate).toMatchObject({ value: 0.25, successes: 1, trials: 4 });
    expect(fabric05?.coverage).toBeCloseTo(9 / 100, 12);
    expect(fabric07?.precision).toMatchObject({ value: 0, lower: 0, successes: 0, trials: 2 });
    expect(fabric07?.missRate).toBeUndefined();
    expect(fabric07?.coverage).toBeCloseTo(2 / 20, 12);
  });

  it('rolls groups up to any subset of the dimensions, the empty one being everything', () => {
    const [line] = qualityByGroup(labels, counts, { by: ['line'] });
    expect(line?.key).toBe('line=line-1');
    expect(line?.group).toEqual({ lineId: 'line-1' });
    expect(line?.counts.flagged).toEqual({ reviewed: 6, confirmed: 3, falseAlarms: 3 });
    expect(line?.precision?.value).toBe(0.5);
    const [all] = qualityByGroup(labels, counts, { by: [] });
    expect(all?.key).toBe('');
    expect(all?.counts.decided).toEqual({ ok: 105, defect: 15 });
    expect(qualityByGroup(labels, counts, { by: ['model'] }).map((group) => group.key)).toEqual(['model=patchcore-aitex@1.2.0', 'model=patchcore-aitex@1.3.0']);
  });

  it('gives a group with verdicts but no reviews its counts and coverage 0, and no precision or miss rate', () => {
    const [quiet] = qualityByGroup([], [decided('ok', 30, '09')]);
    expect(quiet).toMatchObject({ coverage: 0, counts: { decided: { ok: 30, defect: 0 } } });
    expect(quiet?.precision).toBeUndefined();
    expect(quiet?.missRate).toBeUndefined();
  });

  it('groups frames without a fabric under the empty fabric', () => {
    const record = review('d1', 'false-alarm');
    delete record.fabricCode;
    const [group] = qualityByGroup(currentLabels([record]).values(), [], { by: ['fabric'] });
    expect(group?.group).toEqual({ fabricCode: '' });
  });
});
