/**
 * The exact (Clopper–Pearson) binomial interval: the same interval the model pipeline puts on an
 * operating point's false-alarm rate (`models/loomwatch_models/operating_points.py`), here without
 * scipy: the beta quantile is found by bisection on the regularised incomplete beta function.
 */

/** A proportion measured on `trials` frames, with its two-sided interval at `level`. */
export interface Proportion {
  /** successes / trials. */
  value: number;
  lower: number;
  upper: number;
  successes: number;
  trials: number;
  /** @defaultValue 0.95 */
  level: number;
}

// Lanczos approximation (g = 7, n = 9): ln Γ(x) to about 15 significant digits for x > 0.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
  -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS[0] ?? 1;
  for (let i = 1; i < LANCZOS.length; i++) sum += (LANCZOS[i] ?? 0) / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** The continued fraction of I_x(a, b), by the modified Lentz method. */
function betaFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  d = 1 / (Math.abs(d) < tiny ? tiny : d);
  let h = d;
  for (let m = 1; m <= 10_000; m++) {
    const m2 = 2 * m;
    for (const term of [(m * (b - m) * x) / ((a + m2 - 1) * (a + m2)), (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1))]) {
      d = 1 + term * d;
      d = 1 / (Math.abs(d) < tiny ? tiny : d);
      c = 1 + term / c;
      if (Math.abs(c) < tiny) c = tiny;
      h *= d * c;
    }
    if (Math.abs(d * c - 1) < 1e-15) break;
  }
  return h;
}

/** The regularised incomplete beta function I_x(a, b): the CDF of Beta(a, b) at x. */
export function betaCdf(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  // The fraction converges fast below the mean; above it, use the symmetry I_x(a, b) = 1 − I_{1−x}(b, a).
  return x < (a + 1) / (a + b + 2) ? (front * betaFraction(x, a, b)) / a : 1 - (front * betaFraction(1 - x, b, a)) / b;
}

/** The p-quantile of Beta(a, b), by bisection (the CDF is monotone; 100 halvings reach double precision). */
export function betaQuantile(p: number, a: number, b: number): number {
  let low = 0;
  let high = 1;
  for (let i = 0; i < 100 && high - low > 1e-15; i++) {
    const mid = (low + high) / 2;
    if (betaCdf(mid, a, b) < p) low = mid;
    else high = mid;
  }
  return (low + high) / 2;
}

/**
 * `successes` out of `trials` with the exact two-sided interval: it covers the true proportion
 * with at least `level` probability whatever the count, unlike the normal approximation, which
 * fails exactly where quality figures live (few reviews, proportions near 0 or 1).
 * `undefined` without trials: no figure rather than a made-up one.
 */
export function clopperPearson(successes: number, trials: number, level = 0.95): Proportion | undefined {
  if (!Number.isInteger(successes) || !Number.isInteger(trials) || successes < 0 || successes > trials) {
    throw new RangeError(`clopperPearson needs 0 ≤ successes ≤ trials, integers (got ${successes} of ${trials})`);
  }
  if (trials === 0) return undefined;
  const alpha = (1 - level) / 2;
  const lower = successes === 0 ? 0 : betaQuantile(alpha, successes, trials - successes + 1);
  const upper = successes === trials ? 1 : betaQuantile(1 - alpha, successes + 1, trials - successes);
  return { value: successes / trials, lower, upper, successes, trials, level };
}
