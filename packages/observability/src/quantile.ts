/**
 * The q-quantile (0 ≤ q ≤ 1) of ascending `sorted` values, interpolating linearly between the two
 * nearest ranks (numpy's default, R type 7): the median of [1, 2, 3, 4] is 2.5, q 0 the least
 * value, q 1 the greatest. NaN for no values. The one quantile of Loomwatch's figures: replay
 * reports, soak and demo latencies, benchmarks.
 */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const below = Math.floor(position);
  const lower = sorted[below] as number;
  const upper = sorted[Math.min(below + 1, sorted.length - 1)] as number;
  return lower + (upper - lower) * (position - below);
}
