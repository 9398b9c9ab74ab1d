import { describe, expect, it } from 'vitest';
import { restoreRanges } from './recovery.js';

describe('restore ranges', () => {
  const watermarks = [
    { partition: 0, low: 0, high: 5000 },
    { partition: 1, low: 1200, high: 1500 },
    { partition: 2, low: 0, high: 40 },
    { partition: 3, low: 0, high: 0 },
  ];

  it('re-reads at most `back` records before each committed offset, never before the first record held', () => {
    const committed = new Map([
      [0, 4500],
      [1, 1400],
      [2, 0],
    ]);
    expect(restoreRanges('verdicts', watermarks, committed, 2000)).toEqual([
      { topic: 'verdicts', partition: 0, from: 2500, to: 4500 },
      { topic: 'verdicts', partition: 1, from: 1200, to: 1400 },
    ]);
  });

  it('restores nothing for a partition the group never committed, nor when `back` is 0', () => {
    expect(restoreRanges('verdicts', watermarks, new Map(), 2000)).toEqual([]);
    expect(restoreRanges('verdicts', watermarks, new Map([[0, 4500]]), 0)).toEqual([]);
  });
});
