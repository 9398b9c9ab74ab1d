/**
 * `GET /api/quality`: production quality from the operators' reviews (`@loomwatch/quality`'s
 * estimators over the reviews the dashboard has read) — precision of the defect verdicts, the miss
 * rate estimated from the sampled ok frames with its 95 % interval, and review coverage — per line,
 * camera, fabric and model version, per camera (the tiles' badges) and overall.
 *
 * Coverage's denominator is the verdicts the dashboard has taken into its view since it started
 * (the last `view.seedVerdictsPerPartition` per partition read at start, then every one after): a
 * restart starts it again, so coverage is of the recent past, while precision and the miss rate
 * count every review on `feedback.v1`.
 */
import { currentLabels, qualityByGroup, type GroupQuality, type VerdictCount } from '@loomwatch/quality';
import type { ReviewBook } from './reviews.js';
import type { VerdictView } from './view.js';

/** Verdicts decided, counted by line, camera, fabric, model version and kind. */
export class VerdictTally {
  private readonly counts = new Map<string, VerdictCount>();
  readonly since = new Date().toISOString();

  add(verdict: Pick<VerdictView, 'lineId' | 'cameraId' | 'fabricCode' | 'model' | 'verdict'>): void {
    const key = [verdict.lineId, verdict.cameraId, verdict.fabricCode ?? '', verdict.model.name, verdict.model.version, verdict.verdict].join('\u0000');
    const count = this.counts.get(key);
    if (count !== undefined) {
      count.count++;
      return;
    }
    this.counts.set(key, {
      lineId: verdict.lineId,
      cameraId: verdict.cameraId,
      ...(verdict.fabricCode === undefined ? {} : { fabricCode: verdict.fabricCode }),
      model: { name: verdict.model.name, version: verdict.model.version },
      verdict: verdict.verdict,
      count: 1,
    });
  }

  values(): Iterable<VerdictCount> {
    return this.counts.values();
  }
}

export interface QualityReport {
  /** Since when coverage's verdicts are counted (the dashboard's start). */
  countedSince: string;
  /** The intervals' confidence level. */
  level: number;
  /** Everything together; absent before the first verdict or review. */
  overall?: GroupQuality;
  /** Per line and camera: the tiles' badges. */
  cameras: GroupQuality[];
  /** Per line, camera, fabric and model version. */
  groups: GroupQuality[];
}

const LEVEL = 0.95;

export function qualityReport(book: Pick<ReviewBook, 'all'>, tally: VerdictTally): QualityReport {
  const labels = [...currentLabels(book.all()).values()];
  const counts = [...tally.values()];
  const overall = qualityByGroup(labels, counts, { by: [], level: LEVEL })[0];
  return {
    countedSince: tally.since,
    level: LEVEL,
    ...(overall === undefined ? {} : { overall }),
    cameras: qualityByGroup(labels, counts, { by: ['line', 'camera'], level: LEVEL }),
    groups: qualityByGroup(labels, counts, { level: LEVEL }),
  };
}
