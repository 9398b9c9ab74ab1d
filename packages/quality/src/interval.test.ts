import { describe, expect, it } from 'vitest';
import { betaCdf, clopperPearson } from './interval.js';

describe('the Clopper–Pearson interval', () => {
  // Reference values from scipy.stats.beta.ppf, as models/loomwatch_models/operating_points.py computes them.
  const scipy: [number, number, number, number][] = [
    [0, 10, 0, 0.3084971078],
    [10, 10, 0.6915028922, 1],
    [5, 10, 0.1870860284, 0.8129139716],
    [1, 20, 0.0012650895, 0.2487327628],
    [9, 20, 0.2305778968, 0.684721867],
    [19, 20, 0.7512672372, 0.9987349105],
    [45, 100, 0.3503202292, 0.5527198112],
    [3, 1000, 0.0006190999, 0.0087420232],
    [500, 1000, 0.468549173, 0.531450827],
    [0, 1, 0, 0.975],
    [1, 1, 0.025, 1],
    [7, 50_000, 0.0000562891, 0.0002884321],
  ];

  it.each(scipy)('matches scipy for %i of %i', (successes, trials, lower, upper) => {
    const interval = clopperPearson(successes, trials);
    expect(interval?.value).toBe(successes / trials);
    expect(interval?.lower).toBeCloseTo(lower, 9);
    expect(interval?.upper).toBeCloseTo(upper, 9);
    expect(interval).toMatchObject({ successes, trials, level: 0.95 });
  });

  it('gives no figure without trials and refuses counts that are not a proportion', () => {
    expect(clopperPearson(0, 0)).toBeUndefined();
    expect(() => clopperPearson(3, 2)).toThrow(RangeError);
    expect(() => clopperPearson(-1, 2)).toThrow(RangeError);
    expect(() => clopperPearson(0.5, 2)).toThrow(RangeError);
  });

  it('narrows as the level falls', () => {
    const wide = clopperPearson(9, 20, 0.99);
    const narrow = clopperPearson(9, 20, 0.8);
    expect(wide?.lower).toBeLessThan(narrow?.lower ?? 0);
    expect(wide?.upper).toBeGreaterThan(narrow?.upper ?? 1);
  });

  it('computes the beta CDF on both sides of the mean', () => {
    // scipy.stats.beta.cdf(0.3, 2.5, 4) and beta.cdf(0.9, 0.5, 0.5)
    expect(betaCdf(0.3, 2.5, 4)).toBeCloseTo(0.3521975859067672, 12);
    expect(betaCdf(0.9, 0.5, 0.5)).toBeCloseTo(0.7951672353008665, 12);
  });
});
