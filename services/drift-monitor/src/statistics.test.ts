import { describe, expect, it } from 'vitest';
import { binFractions, binnedKs, binomialUpperTail, meanHistogram, pooledMoments, psi, psiNoiseLevel } from './statistics.js';

describe('drift statistics', () => {
  it('PSI is 0 for the same distribution, symmetric in its terms, and grows with the shift', () => {
    const reference = [0.1, 0.2, 0.4, 0.2, 0.1];
    expect(psi(reference, reference)).toBe(0);
    const small = psi([0.12, 0.2, 0.38, 0.2, 0.1], reference);
    const large = psi([0.3, 0.3, 0.2, 0.1, 0.1], reference);
    expect(small).toBeGreaterThan(0);
    expect(small).toBeLessThan(0.01);
    expect(large).toBeGreaterThan(0.25);
    // (a − e) ln(a/e) by hand for one moved bin pair
    expect(psi([0.2, 0.8], [0.5, 0.5])).toBeCloseTo((0.2 - 0.5) * Math.log(0.2 / 0.5) + (0.8 - 0.5) * Math.log(0.8 / 0.5), 12);
    expect(() => psi([1], [0.5, 0.5])).toThrow(RangeError);
  });

  it('PSI stays finite when a bin is empty on one side', () => {
    expect(Number.isFinite(psi([0, 1], [0.5, 0.5]))).toBe(true);
    expect(psi([0, 1], [0.5, 0.5])).toBeGreaterThan(3);
  });

  it('binned KS is the largest gap of the cumulative sums', () => {
    expect(binnedKs([0.5, 0.5, 0], [0.5, 0.5, 0])).toBe(0);
    expect(binnedKs([1, 0, 0], [0, 0, 1])).toBe(1);
    expect(binnedKs([0.2, 0.3, 0.5], [0.1, 0.2, 0.7])).toBeCloseTo(0.2, 12);
  });

  it('pools pixel moments of equal-sized frames from their means and stds', () => {
    // Two frames: one all 0 (std 0), one all 10 (std 0): pooled std 5 around 5.
    expect(pooledMoments([{ mean: 0, std: 0 }, { mean: 10, std: 0 }])).toEqual({ mean: 5, std: 5 });
    expect(pooledMoments([{ mean: 3, std: 2 }, { mean: 3, std: 2 }]).std).toBeCloseTo(2, 12);
    expect(meanHistogram([[1, 0], [0, 1]])).toEqual([0.5, 0.5]);
  });

  it('bins values by ascending interior edges, a value on an edge going up', () => {
    expect(binFractions([0.05, 0.1, 0.5, 0.95], [0.1, 0.9])).toEqual([0.25, 0.5, 0.25]);
  });

  it('puts the PSI noise level of a window at the chi-square 0.999 quantile over its frames', () => {
    // chi-square(9) at 0.999 is 27.877; Wilson–Hilferty is within 1 %.
    expect(psiNoiseLevel(10, 1)).toBeGreaterThan(27.6);
    expect(psiNoiseLevel(10, 1)).toBeLessThan(28.2);
    expect(psiNoiseLevel(10, 200)).toBeCloseTo(psiNoiseLevel(10, 1) / 200, 12);
  });

  it('computes binomial upper tails', () => {
    expect(binomialUpperTail(0, 10, 0.3)).toBe(1);
    expect(binomialUpperTail(11, 10, 0.3)).toBe(0);
    expect(binomialUpperTail(10, 10, 0.5)).toBeCloseTo(1 / 1024, 12);
    expect(binomialUpperTail(1, 10, 0.5)).toBeCloseTo(1 - 1 / 1024, 12);
    // Σ_{k≥5} C(16,k) 0.05^k 0.95^(16−k) = 0.000857
    expect(binomialUpperTail(5, 16, 0.05)).toBeCloseTo(0.000857, 6);
  });
});
