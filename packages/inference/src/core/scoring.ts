import type { ModelCard, VerdictKind } from '@loomwatch/contracts';

export interface Normalization {
  min: number;
  max: number;
}

/** `defect` iff the frame score reaches the image threshold. */
export function verdictFor(score: number, imageThreshold: number): VerdictKind {
  return score >= imageThreshold ? 'defect' : 'ok';
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

/** The thresholds and normalisation one frame is judged by. */
export interface Calibration {
  /** The fabric whose calibration applies, or null for the model's pooled values. */
  fabric: string | null;
  imageThreshold: number;
  pixelThreshold: number;
  normalization: Normalization;
}

/** The card's calibration for the frame's fabric when it has one, its pooled calibration otherwise. */
export function calibrationFor(postprocess: ModelCard['postprocess'], fabricCode?: string): Calibration {
  const fabric = fabricCode === undefined ? undefined : postprocess.fabrics?.[fabricCode];
  const { imageThreshold, pixelThreshold, normalization } = fabric ?? postprocess;
  return { fabric: fabric === undefined ? null : (fabricCode ?? null), imageThreshold, pixelThreshold, normalization };
}
