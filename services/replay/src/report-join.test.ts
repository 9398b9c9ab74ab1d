import { describe, expect, it } from 'vitest';
import { FrameCatalog, LatestVerdicts, isJoined, pairByFrame } from './report-join.js';
import { point } from './report-test-fixtures.js';

describe('LatestVerdicts', () => {
  it('keeps the verdict decided last and counts the ones it supersedes', () => {
    const stream = new LatestVerdicts();
    stream.add(point('f1', 'ok', 0.2, { decidedAt: '2026-11-22T10:00:00Z' }));
    stream.add(point('f1', 'defect', 0.9, { decidedAt: '2026-11-22T11:00:00Z' }));
    stream.add(point('f1', 'ok', 0.1, { decidedAt: '2026-11-22T09:00:00Z' }));
    expect(stream.byFrame.get('f1')).toMatchObject({ verdict: 'defect', score: 0.9 });
    expect(stream).toMatchObject({ messages: 3, superseded: 2 });
    expect(stream.byFrame.size).toBe(1);
  });

  it('keeps the one read last when two verdicts were decided at the same time', () => {
    const stream = new LatestVerdicts();
    stream.add(point('f1', 'ok', 0.2));
    stream.add(point('f1', 'defect', 0.8));
    expect(stream.byFrame.get('f1')?.verdict).toBe('defect');
  });
});

describe('FrameCatalog', () => {
  it('keeps the facts of a re-published frame from its last event', () => {
    const catalog = new FrameCatalog();
    catalog.add('f1', { defectCode: '000', fabricCode: '05' });
    catalog.add('f1', { defectCode: '002', fabricCode: '05' });
    expect(catalog.byFrame.get('f1')?.defectCode).toBe('002');
    expect(catalog).toMatchObject({ messages: 2, superseded: 1 });
  });
});

describe('pairByFrame', () => {
  it('pairs every frame of either stream, in frameId order, joined where both decided it', () => {
    const candidate = new Map([['b', point('b', 'ok', 0.1)], ['c', point('c', 'ok', 0.1)]]);
    const baseline = new Map([['a', point('a', 'ok', 0.1)], ['b', point('b', 'defect', 0.9)]]);
    const pairs = pairByFrame(candidate, baseline);
    expect(pairs.map((pair) => [pair.frameId, pair.candidate?.verdict, pair.baseline?.verdict])).toEqual([
      ['a', undefined, 'ok'],
      ['b', 'ok', 'defect'],
      ['c', 'ok', undefined],
    ]);
    expect(pairs.filter(isJoined).map((pair) => pair.frameId)).toEqual(['b']);
  });
});
