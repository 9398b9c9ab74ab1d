import { describe, expect, it } from 'vitest';
import { summarize, symmetricHistogram } from './report-stats.js';

describe('summarize', () => {
  it('gives mean, median, p5, p95, min and max of unsorted values', () => {
    const summary = summarize([0.3, -0.2, 0.1, 0, -0.1]);
    // sorted −0.2, −0.1, 0, 0.1, 0.3: p5 at rank 0.2, p95 at rank 3.8
    expect(summary?.count).toBe(5);
    expect(summary?.mean).toBeCloseTo(0.02, 10);
    expect(summary?.median).toBe(0);
    expect(summary?.p5).toBeCloseTo(-0.18, 10);
    expect(summary?.p95).toBeCloseTo(0.26, 10);
    expect(summary?.min).toBe(-0.2);
    expect(summary?.max).toBe(0.3);
  });

  it('gives null for no values rather than NaNs', () => {
    expect(summarize([])).toBeNull();
  });
});

describe('symmetricHistogram', () => {
  it('bins over [−m, m] with 0 on an edge and the largest value in the last bin', () => {
    expect(symmetricHistogram([-1, -0.5, 0, 0.5, 1], 4)).toEqual([
      { from: -1, to: -0.5, count: 1 },
      { from: -0.5, to: 0, count: 1 },
      { from: 0, to: 0.5, count: 1 },
      { from: 0.5, to: 1, count: 2 },
    ]);
  });

  it('spans the larger side when deltas are lopsided', () => {
    const bins = symmetricHistogram([0.1, 0.4], 2);
    expect(bins).toEqual([
      { from: -0.4, to: 0, count: 0 },
      { from: 0, to: 0.4, count: 2 },
    ]);
  });

  it('puts identical scores in one zero-width bin and gives no bins for no values', () => {
    expect(symmetricHistogram([0, 0, 0])).toEqual([{ from: 0, to: 0, count: 3 }]);
    expect(symmetricHistogram([])).toEqual([]);
  });
});
