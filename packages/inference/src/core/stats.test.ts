import { describe, expect, it } from 'vitest';
import { inputStats } from './stats.js';

describe('inputStats', () => {
  it('computes mean, population std, min, max and a 16-bin histogram of fractions', () => {
    const stats = inputStats(Uint8Array.from([0, 16, 255, 255]));
    expect(stats.mean).toBe(131.5);
    expect(stats.std).toBeCloseTo(Math.sqrt(15284.25), 9);
    expect([stats.min, stats.max]).toEqual([0, 255]);
    expect(stats.histogram).toEqual([0.25, 0.25, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.5]);
  });

  it('reports zero spread for a flat frame', () => {
    const stats = inputStats(new Uint8Array(100).fill(128));
    expect([stats.mean, stats.std, stats.min, stats.max]).toEqual([128, 0, 128, 128]);
    expect(stats.histogram[8]).toBe(1);
  });
});
