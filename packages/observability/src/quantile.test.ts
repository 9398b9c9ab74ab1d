import { describe, expect, it } from 'vitest';
import { quantile } from './quantile.js';

describe('quantile', () => {
  it('interpolates between the two nearest ranks', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    const tens = Array.from({ length: 11 }, (_, i) => i * 10);
    expect(quantile(tens, 0.05)).toBeCloseTo(5, 10);
    expect(quantile(tens, 0.95)).toBeCloseTo(95, 10);
    expect(quantile(tens, 0.99)).toBeCloseTo(99, 10);
    expect(quantile(tens, 0)).toBe(0);
    expect(quantile(tens, 1)).toBe(100);
  });

  it('gives the only value of a single-value list for every q, and NaN for no values', () => {
    expect(quantile([0.3], 0.05)).toBe(0.3);
    expect(quantile([0.3], 0.95)).toBe(0.3);
    expect(quantile([], 0.5)).toBeNaN();
  });
});
