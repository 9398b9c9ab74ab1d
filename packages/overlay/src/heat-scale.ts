/**
 * The heat scale scores and anomaly-map values are placed on: 0 at `normalization.min`, 0.5 at the
 * threshold, 1 at `normalization.max`. The engine normalises frame scores with it, the overlay
 * colours map values with it.
 */

/** The scores that map to 0 and 1 of the heat scale (the model's `postprocess.normalization`). */
export interface Normalization {
  min: number;
  max: number;
}

/**
 * Maps a score onto [0, 1], piecewise linear: `normalization.min` → 0, the image threshold →
 * exactly 0.5, `normalization.max` → 1, clamped outside. Because the threshold always lands on
 * 0.5, a "sensitivity" expressed on the normalised scale means the same for every model.
 */
export function normalizeScore(score: number, threshold: number, normalization: Normalization): number {
  const { min: lo, max: hi } = normalization;
  let value: number;
  if (score === threshold) value = 0.5;
  else if (score < threshold) value = threshold > lo ? (0.5 * (score - lo)) / (threshold - lo) : 0;
  else value = hi > threshold ? 0.5 + (0.5 * (score - threshold)) / (hi - threshold) : 1;
  return Math.min(1, Math.max(0, value));
}
