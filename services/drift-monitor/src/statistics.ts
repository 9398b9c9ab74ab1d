/**
 * The statistics a drift monitor compares a window of frames with: population stability index,
 * the Kolmogorov–Smirnov distance between binned distributions, pooled pixel moments, and the
 * binomial tail of a defect count. Pure functions over plain numbers.
 */

/** Empty bins count as this fraction, so that PSI stays finite. */
const PSI_FLOOR = 1e-4;

/**
 * Population stability index of `actual` against `expected` (both fractions over the same bins):
 * Σ (a − e) · ln(a / e). Below 0.1 is read as stable, above 0.25 as a major shift.
 */
export function psi(actual: readonly number[], expected: readonly number[]): number {
  if (actual.length !== expected.length) throw new RangeError(`psi: ${actual.length} bins against ${expected.length}`);
  let sum = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = Math.max(actual[i] ?? 0, PSI_FLOOR);
    const e = Math.max(expected[i] ?? 0, PSI_FLOOR);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

/** The largest gap between the cumulative distributions of two binned distributions (KS distance on the bins). */
export function binnedKs(actual: readonly number[], expected: readonly number[]): number {
  if (actual.length !== expected.length) throw new RangeError(`ks: ${actual.length} bins against ${expected.length}`);
  let a = 0;
  let e = 0;
  let largest = 0;
  for (let i = 0; i < actual.length; i++) {
    a += actual[i] ?? 0;
    e += expected[i] ?? 0;
    largest = Math.max(largest, Math.abs(a - e));
  }
  return largest;
}

/** The element-wise mean of equal-length histograms. */
export function meanHistogram(histograms: readonly (readonly number[])[]): number[] {
  const bins = histograms[0]?.length ?? 0;
  const mean = new Array<number>(bins).fill(0);
  for (const histogram of histograms) for (let i = 0; i < bins; i++) mean[i] = (mean[i] ?? 0) + (histogram[i] ?? 0) / histograms.length;
  return mean;
}

/** Mean and population std over all pixels of equal-sized frames, from each frame's mean and std. */
export function pooledMoments(frames: readonly { mean: number; std: number }[]): { mean: number; std: number } {
  const n = frames.length;
  const mean = frames.reduce((sum, frame) => sum + frame.mean, 0) / n;
  const secondMoment = frames.reduce((sum, frame) => sum + frame.std ** 2 + frame.mean ** 2, 0) / n;
  return { mean, std: Math.sqrt(Math.max(0, secondMoment - mean ** 2)) };
}

/** Fractions of `values` in the bins that `edges` (ascending interior edges) cut: edges.length + 1 bins. */
export function binFractions(values: readonly number[], edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const value of values) {
    let bin = 0;
    while (bin < edges.length && value >= (edges[bin] ?? Infinity)) bin++;
    counts[bin] = (counts[bin] ?? 0) + 1;
  }
  return counts.map((count) => count / values.length);
}

/** The standard normal quantile at 0.999, for the chi-square approximation below. */
const Z_999 = 3.090232;

/**
 * The PSI that a window of `frames` values drawn from the reference itself exceeds in about 1 window
 * in 1000, over `bins` bins of equal reference mass: for small shifts n · PSI is close to Pearson's
 * chi-square with bins − 1 degrees of freedom, whose 0.999 quantile comes from Wilson–Hilferty.
 */
export function psiNoiseLevel(bins: number, frames: number): number {
  const k = bins - 1;
  const chiSquare = k * (1 - 2 / (9 * k) + Z_999 * Math.sqrt(2 / (9 * k))) ** 3;
  return chiSquare / frames;
}

/** P(X ≥ k) for X ~ Binomial(n, p). */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  // Sum the pmf from k upwards in log space, starting from C(n, k) p^k (1-p)^(n-k).
  let logTerm = logChoose(n, k) + k * Math.log(p) + (n - k) * Math.log(1 - p);
  let sum = 0;
  for (let i = k; i <= n; i++) {
    sum += Math.exp(logTerm);
    logTerm += Math.log((n - i) / (i + 1)) + Math.log(p / (1 - p));
  }
  return Math.min(1, sum);
}

function logChoose(n: number, k: number): number {
  let sum = 0;
  for (let i = 1; i <= k; i++) sum += Math.log((n - k + i) / i);
  return sum;
}
