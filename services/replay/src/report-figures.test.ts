import { describe, expect, it } from 'vitest';
import { buildReport } from './report-figures.js';
import { LatestVerdicts } from './report-join.js';
import { toFrameFacts, toVerdictPoint } from './report-model.js';
import { craftedInputs, point } from './report-test-fixtures.js';

describe('buildReport on the crafted frames', () => {
  const report = buildReport(craftedInputs());

  it('counts frames in each stream, joined and only-in-one, after dropping the superseded verdict', () => {
    expect(report.overall).toMatchObject({ candidateFrames: 5, baselineFrames: 5, joined: 4, onlyCandidate: 1, onlyBaseline: 1 });
    expect(report.streams.candidate).toMatchObject({ messages: 6, frames: 5, superseded: 1, invalid: 1 });
    expect(report.streams.baseline).toMatchObject({ messages: 5, frames: 5, superseded: 0, invalid: 0 });
    expect(report.streams.frames).toMatchObject({ topic: 'frames.v1', messages: 5, frames: 5, invalid: 2 });
    expect(report.overall.framesWithoutEvent).toBe(1);
  });

  it('gives agreement and flips in each direction with their frame ids', () => {
    expect(report.overall.agreed).toBe(2);
    expect(report.overall.agreementRate).toBe(0.5);
    expect(report.overall.flips).toEqual({ okToDefect: 1, defectToOk: 1 });
    expect(report.overall.flipFrameIds).toEqual({ okToDefect: ['f2'], defectToOk: ['f3'] });
    expect(report.overall.defectRate).toEqual({ baseline: 0.5, candidate: 0.5 });
  });

  it('summarises candidate − baseline score deltas', () => {
    // deltas sorted: −0.40, +0.05, +0.10, +0.40; p5 at rank 0.15, p95 at rank 2.85
    const delta = report.overall.scoreDelta;
    expect(delta?.count).toBe(4);
    expect(delta?.mean).toBeCloseTo(0.0375, 10);
    expect(delta?.median).toBeCloseTo(0.075, 10);
    expect(delta?.p5).toBeCloseTo(-0.3325, 10);
    expect(delta?.p95).toBeCloseTo(0.355, 10);
    expect(delta?.min).toBeCloseTo(-0.4, 10);
    expect(delta?.max).toBeCloseTo(0.4, 10);
    expect(report.overall.scoreDeltaHistogram.reduce((sum, bin) => sum + bin.count, 0)).toBe(4);
  });

  it('names the model versions of each side', () => {
    expect(report.streams.candidate.models).toEqual({ 'draem-aitex@1.2.0': 5 });
    expect(report.streams.baseline.models).toEqual({ 'draem-aitex@1.0.0': 5 });
  });

  it('names the false-alarm rates each side was judged at, and frames whose verdict states none', () => {
    expect(report.streams.candidate.falseAlarmRates).toEqual({ 'none stated': 5 });
    expect(report.streams.baseline.falseAlarmRates).toEqual({ '0.02': 5 });
  });

  it('breaks agreement down per defect code, with the false-alarm rate on normal frames', () => {
    const byCode = Object.fromEntries(report.byDefectCode.map((group) => [group.key, group]));
    expect(Object.keys(byCode)).toEqual(['000', '002', '010', 'unknown']);
    expect(byCode['000']).toMatchObject({ joined: 1, onlyBaseline: 1, agreementRate: 1, defectRate: { baseline: 0, candidate: 0 } });
    expect(byCode['002']).toMatchObject({ joined: 2, agreed: 0, agreementRate: 0, flips: { okToDefect: 1, defectToOk: 1 } });
    expect(byCode['002']?.scoreDelta?.mean).toBeCloseTo(0, 10);
    expect(byCode['010']).toMatchObject({ joined: 1, agreementRate: 1, defectRate: { baseline: 1, candidate: 1 } });
    expect(byCode['unknown']).toMatchObject({ joined: 0, onlyCandidate: 1, agreementRate: null, scoreDelta: null });
  });

  it('breaks agreement down per line, per camera and per fabric code', () => {
    const rates = (groups: typeof report.byLine): Record<string, number | null> =>
      Object.fromEntries(groups.map((group) => [group.key, group.agreementRate]));
    expect(rates(report.byLine)).toEqual({ 'line-1': 1 / 3, 'line-2': 1 });
    expect(report.byLine[1]).toMatchObject({ key: 'line-2', joined: 1, onlyBaseline: 1, onlyCandidate: 1 });
    expect(rates(report.byCamera)).toEqual({ 'line-1:cam-1': 0.5, 'line-1:cam-2': 0, 'line-2:cam-1': 1 });
    expect(rates(report.byFabricCode)).toEqual({ '05': 0.5, '06': 0.5, unknown: null });
    expect(report.byFabricCode[0]).toMatchObject({ key: '05', joined: 2, onlyBaseline: 1 });
  });
});

describe('buildReport edge cases', () => {
  it('caps the flip lists, largest |score delta| first', () => {
    const inputs = craftedInputs();
    const candidate = new LatestVerdicts();
    const baseline = new LatestVerdicts();
    for (const [id, score] of [['a', 0.6], ['b', 0.9], ['c', 0.7]] as const) {
      baseline.add(point(id, 'ok', 0.1));
      candidate.add(point(id, 'defect', score));
    }
    const report = buildReport({ ...inputs, candidate: { ...inputs.candidate, verdicts: candidate }, baseline: { ...inputs.baseline, verdicts: baseline }, flipListLimit: 2 });
    expect(report.overall.flips.okToDefect).toBe(3);
    expect(report.overall.flipFrameIds.okToDefect).toEqual(['b', 'c']);
  });

  it('reports no agreement rate and no deltas when nothing joined', () => {
    const inputs = craftedInputs();
    const report = buildReport({ ...inputs, candidate: { ...inputs.candidate, verdicts: new LatestVerdicts() } });
    expect(report.overall).toMatchObject({ joined: 0, onlyBaseline: 5, agreementRate: null, scoreDelta: null, scoreDeltaHistogram: [] });
  });
});

describe('message mapping', () => {
  it("takes defect and fabric code from the frame event, 'unknown' when it has none", () => {
    expect(toFrameFacts({ product: { fabricCode: '05' }, attributes: { aitexDefectCode: '000' } })).toEqual({ defectCode: '000', fabricCode: '05' });
    expect(toFrameFacts({ attributes: { aitexDefectCode: '' } })).toEqual({ defectCode: 'unknown', fabricCode: 'unknown' });
  });

  // A verdict as the topic carries it: the model as a reference, no falseAlarmRate unless it states one.
  const { falseAlarmRate: _rate, ...fields } = point('f1', 'ok', 0.2);
  const verdict = { ...fields, model: { name: 'draem-aitex', version: '1.2.0', sha256: 'a'.repeat(64) } };

  it('names a verdict’s model as name@version', () => {
    expect(toVerdictPoint(verdict).model).toBe('draem-aitex@1.2.0');
    const variant = { ...verdict, model: { ...verdict.model, version: '1.2.0-int8', precision: 'int8' as const, requested: '1.2.0' } };
    expect(toVerdictPoint(variant).model).toBe('draem-aitex@1.2.0-int8 (int8 for 1.2.0)');
  });

  it("keeps a verdict's false-alarm rate, null when it states none", () => {
    expect(toVerdictPoint({ ...verdict, falseAlarmRate: 0.01 }).falseAlarmRate).toBe(0.01);
    expect(toVerdictPoint(verdict).falseAlarmRate).toBeNull();
  });
});
