import { CARD_FALSE_ALARM_RATE, ownValue, type ModelCard, type OperatingPoint, type VerdictKind } from '@loomwatch/contracts';
import type { Normalization } from '@loomwatch/overlay';

/** `defect` iff the frame score reaches the image threshold. */
export function verdictFor(score: number, imageThreshold: number): VerdictKind {
  return score >= imageThreshold ? 'defect' : 'ok';
}

/** The thresholds and normalisation one frame is judged by. */
export interface Calibration {
  /** The fabric whose calibration applies, or null for the model's pooled values. */
  fabric: string | null;
  /**
   * The false-alarm rate whose threshold applies: the one asked for (the nearest end of the
   * card's grid outside it), the card's default 0.05 when none was asked, or null for a
   * calibration without operating points (its `imageThreshold` applies, at no stated rate).
   */
  falseAlarmRate: number | null;
  /** The image threshold in force. */
  imageThreshold: number;
  /** The pixel threshold in force: never above the image threshold, so a defect verdict has a region. */
  pixelThreshold: number;
  normalization: Normalization;
}

/**
 * The image threshold of `rate` on an operating-point grid (ascending rates): linear in
 * log(rate) between the two points that bracket it, the first or last point's outside the grid.
 */
export function thresholdAt(points: readonly OperatingPoint[], rate: number): { imageThreshold: number; falseAlarmRate: number } {
  const first = points[0];
  const last = points[points.length - 1];
  if (first === undefined || last === undefined) throw new Error('an operating-point grid needs a point'); // the card schema requires one
  if (rate <= first.falseAlarmRate) return { imageThreshold: first.imageThreshold, falseAlarmRate: first.falseAlarmRate };
  if (rate >= last.falseAlarmRate) return { imageThreshold: last.imageThreshold, falseAlarmRate: last.falseAlarmRate };
  let upper = 1;
  while ((points[upper]?.falseAlarmRate ?? Infinity) < rate) upper++;
  const lo = points[upper - 1] ?? first;
  const hi = points[upper] ?? last;
  if (hi.falseAlarmRate === rate) return { imageThreshold: hi.imageThreshold, falseAlarmRate: rate };
  const t = (Math.log(rate) - Math.log(lo.falseAlarmRate)) / (Math.log(hi.falseAlarmRate) - Math.log(lo.falseAlarmRate));
  return { imageThreshold: lo.imageThreshold + t * (hi.imageThreshold - lo.imageThreshold), falseAlarmRate: rate };
}

/**
 * The card's calibration for the frame's fabric when it has one, its pooled calibration otherwise;
 * at `falseAlarmRate` when that calibration has operating points, else at its `imageThreshold`.
 */
export function calibrationFor(postprocess: ModelCard['postprocess'], fabricCode?: string, falseAlarmRate?: number): Calibration {
  const fabric = ownValue(postprocess.fabrics, fabricCode);
  const chosen = fabric ?? postprocess;
  const points = chosen.operatingPoints?.points;
  const atRate =
    points === undefined
      ? { imageThreshold: chosen.imageThreshold, falseAlarmRate: null }
      : falseAlarmRate === undefined
        ? { imageThreshold: chosen.imageThreshold, falseAlarmRate: CARD_FALSE_ALARM_RATE }
        : thresholdAt(points, falseAlarmRate);
  return {
    fabric: fabric === undefined ? null : (fabricCode ?? null),
    falseAlarmRate: atRate.falseAlarmRate,
    imageThreshold: atRate.imageThreshold,
    pixelThreshold: Math.min(chosen.pixelThreshold, atRate.imageThreshold),
    normalization: chosen.normalization,
  };
}

/**
 * The index a routed model (`card.routing`) gets for a frame: its fabric's when the card lists the
 * fabric, the fallback for any other frame; undefined for a card that does not route.
 */
export function routeFor(routing: ModelCard['routing'], fabricCode?: string): number | undefined {
  if (routing === undefined) return undefined;
  return ownValue(routing.fabrics, fabricCode) ?? routing.fallback;
}
