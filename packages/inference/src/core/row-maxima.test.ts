import { describe, expect, it } from 'vitest';
import { rowMaxima } from './row-maxima.js';

describe('rowMaxima', () => {
  it("writes each row's maximum and returns the map's", () => {
    const rowMax = new Float32Array(3);
    const map = Float32Array.from([0.1, 0.7, 0.2, -0.5, -0.25, -0.75, 0.3, 0.3, 0.9]);
    expect(rowMaxima(map, 3, 3, rowMax)).toBeCloseTo(0.9, 6);
    expect(Array.from(rowMax)).toEqual(Array.from(Float32Array.from([0.7, -0.25, 0.9])));
  });

  it('returns NaN for a map holding a NaN or an infinity, and passes over NaN in the row maxima', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const rowMax = new Float32Array(2);
      expect(rowMaxima(Float32Array.from([0.2, bad, 0.4, 0.1]), 2, 2, rowMax)).toBeNaN();
      expect(rowMax[1]).toBeCloseTo(0.4, 6);
      expect(rowMax[0]).toBe(Number.isNaN(bad) ? Math.fround(0.2) : Math.max(Math.fround(0.2), bad));
    }
  });
});
