/**
 * The drift checks: a window of one camera's frames of one fabric against a model card's reference
 * profile. Pure: the window and the reference in, the measures out.
 */
import type { DriftMeasure, InputStats, ReferenceProfile } from '@loomwatch/contracts';
import { binFractions, binnedKs, binomialUpperTail, meanHistogram, pooledMoments, psi, psiNoiseLevel } from './statistics.js';

/** The levels beyond which a check trips, and how many frames each check needs. */
export interface DriftThresholds {
  /** PSI of the window's mean 16-bin intensity histogram against the reference's. */
  inputPsi: number;
  /** KS distance between the same two histograms. */
  inputKs: number;
  /** |pooled pixel std / the reference's − 1|: contrast lost or gained (blur, exposure, a dirty lens). */
  contrast: number;
  /** PSI of the window's scores over the reference's deciles (raised to the window's noise level when that is higher). */
  scorePsi: number;
  /** The defect rate a stream like the reference shows (the threshold's false-alarm rate on validation normals). */
  expectedDefectRate: number;
  /** The defect-rate check trips when this many or more defects are less likely than this at the expected rate. */
  defectRateP: number;
  /** Frames the score and defect-rate checks need before they judge. */
  minScoreFrames: number;
}

/** One frame as the checks see it. */
export interface WindowFrame {
  inputStats: InputStats;
  score: number;
  defect: boolean;
}

type InputProfile = ReferenceProfile['input'];
type ScoreProfile = NonNullable<ReferenceProfile['scores']>;

/** The reference part that applies to a fabric: its own where the card has one, else the pooled one. */
export function referenceFor(
  reference: ReferenceProfile,
  fabricCode: string | undefined,
): { scope: 'fabric' | 'pooled'; input: InputProfile; scores: ScoreProfile | undefined } {
  const own = fabricCode === undefined ? undefined : reference.fabrics?.[fabricCode];
  if (own !== undefined) return { scope: 'fabric', input: own.input, scores: own.scores };
  // Pooled scores mix every fabric: a single fabric's scores sit off-centre in them, so they judge
  // only frames that name no fabric.
  return { scope: 'pooled', input: reference.input, scores: fabricCode === undefined ? reference.scores : undefined };
}

function measure(check: DriftMeasure['check'], value: number, threshold: number, frames: number, tripped = Math.abs(value) > threshold): DriftMeasure {
  return { check, value: round(value), threshold: round(threshold), tripped, frames };
}

const round = (value: number): number => Math.round(value * 1e6) / 1e6;

/** Input checks on `inputFrames`; score and defect-rate checks on `scoreFrames` once it holds `minScoreFrames`. */
export function judgeWindow(
  inputFrames: readonly WindowFrame[],
  scoreFrames: readonly WindowFrame[],
  reference: { input: InputProfile; scores: ScoreProfile | undefined },
  thresholds: DriftThresholds,
): DriftMeasure[] {
  const histogram = meanHistogram(inputFrames.map((frame) => frame.inputStats.histogram));
  const { std } = pooledMoments(inputFrames.map((frame) => frame.inputStats));
  const n = inputFrames.length;
  const measures = [
    measure('input-psi', psi(histogram, reference.input.histogram), thresholds.inputPsi, n),
    measure('input-ks', binnedKs(histogram, reference.input.histogram), thresholds.inputKs, n),
    measure('input-contrast', reference.input.std === 0 ? 0 : std / reference.input.std - 1, thresholds.contrast, n),
  ];
  const m = scoreFrames.length;
  if (m < thresholds.minScoreFrames) return measures;
  if (reference.scores !== undefined) {
    const bins = reference.scores.deciles.length + 1;
    const fractions = binFractions(
      scoreFrames.map((frame) => frame.score),
      reference.scores.deciles,
    );
    measures.push(measure('score-psi', psi(fractions, new Array<number>(bins).fill(1 / bins)), Math.max(thresholds.scorePsi, psiNoiseLevel(bins, m)), m));
  }
  const defects = scoreFrames.filter((frame) => frame.defect).length;
  // The smallest count that trips at this window size, as a rate.
  let tripCount = 0;
  while (tripCount <= m && binomialUpperTail(tripCount, m, thresholds.expectedDefectRate) >= thresholds.defectRateP) tripCount++;
  measures.push(measure('defect-rate', defects / m, tripCount / m, m, defects >= tripCount));
  return measures;
}
