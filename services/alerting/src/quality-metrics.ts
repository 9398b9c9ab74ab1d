/**
 * The `loomwatch_quality_*` gauges: production quality from the reviews and verdicts the engine
 * holds, computed when Prometheus scrapes (at most once a second), over the verdicts decided
 * within the quality window. Labels: line, camera, fabric ('' without one), model, version.
 *
 * Cardinality is bounded by what is live, not by history: a label set exists only while its group
 * has a verdict or a review in the window (a camera, fabric or model version that stops deciding
 * drops out when the window passes it), and at most `maxGroups` of them are exported, those with
 * the most verdicts first; the others are counted in `loomwatch_quality_groups_dropped`.
 */
import { Gauge, type Registry } from '@loomwatch/observability';
import { qualityByGroup, type GroupQuality } from '@loomwatch/quality';
import type { QualityInputs } from './engine.js';

const LABELS = ['line', 'camera', 'fabric', 'model', 'version'] as const;
type Labels = Record<(typeof LABELS)[number], string>;

export interface QualityMetricsOptions {
  registry: Registry;
  windowMs: number;
  maxGroups: number;
  now: () => number;
  inputs: (now: number, windowMs: number) => QualityInputs;
}

function labelsOf(group: GroupQuality): Labels {
  return {
    line: group.group.lineId ?? '',
    camera: group.group.cameraId ?? '',
    fabric: group.group.fabricCode ?? '',
    model: group.group.model?.name ?? '',
    version: group.group.model?.version ?? '',
  };
}

const decidedOf = (group: GroupQuality): number => group.counts.decided.ok + group.counts.decided.defect;

/** Registers the quality gauges on `registry`. */
export function registerQualityMetrics(options: QualityMetricsOptions): void {
  let computedAt = -Infinity;
  const refresh = (): void => {
    if (performance.now() - computedAt < 1000) return;
    computedAt = performance.now();
    const inputs = options.inputs(options.now(), options.windowMs);
    const groups = qualityByGroup(inputs.labels, inputs.verdicts).sort((a, b) => decidedOf(b) - decidedOf(a) || (a.key < b.key ? -1 : 1));
    // Coverage counts only the reviews of frames decided while every verdict was counted (after a restart, not before).
    const coverage = new Map(qualityByGroup(inputs.countedLabels, inputs.verdicts).map((group) => [group.key, group.coverage]));
    const kept = groups.slice(0, options.maxGroups);
    for (const gauge of gauges) gauge.reset();
    dropped.set(groups.length - kept.length);
    for (const group of kept) {
      const labels = labelsOf(group);
      const { precision, missRate, counts } = group;
      if (precision !== undefined) {
        precisionGauge.set(labels, precision.value);
        precisionLower.set(labels, precision.lower);
        precisionUpper.set(labels, precision.upper);
      }
      if (missRate !== undefined) {
        missRateGauge.set(labels, missRate.value);
        missRateLower.set(labels, missRate.lower);
        missRateUpper.set(labels, missRate.upper);
      }
      const covered = coverage.get(group.key);
      if (covered !== undefined) coverageGauge.set(labels, covered);
      reviews.set({ ...labels, kind: 'flagged' }, counts.flagged.reviewed);
      reviews.set({ ...labels, kind: 'confirmed' }, counts.flagged.confirmed);
      reviews.set({ ...labels, kind: 'ok' }, counts.ok.reviewed);
      reviews.set({ ...labels, kind: 'sampled' }, counts.ok.sampled);
      reviews.set({ ...labels, kind: 'missed' }, counts.ok.missedInSample);
    }
  };
  const collect = (): void => refresh();
  const gauge = (name: string, help: string): Gauge<(typeof LABELS)[number]> =>
    new Gauge({ name, help, labelNames: LABELS, registers: [options.registry], collect });
  const precisionGauge = gauge('loomwatch_quality_precision', 'Reviewed defect verdicts confirmed as defects, over all reviewed defect verdicts, in the quality window');
  const precisionLower = gauge('loomwatch_quality_precision_lower', 'Lower bound of the 95 % Clopper–Pearson interval of loomwatch_quality_precision');
  const precisionUpper = gauge('loomwatch_quality_precision_upper', 'Upper bound of the 95 % Clopper–Pearson interval of loomwatch_quality_precision');
  const missRateGauge = gauge('loomwatch_quality_miss_rate', 'Ok verdicts of the random review sample found to hide a defect, over all sampled ok verdicts, in the quality window');
  const missRateLower = gauge('loomwatch_quality_miss_rate_lower', 'Lower bound of the 95 % Clopper–Pearson interval of loomwatch_quality_miss_rate');
  const missRateUpper = gauge('loomwatch_quality_miss_rate_upper', 'Upper bound of the 95 % Clopper–Pearson interval of loomwatch_quality_miss_rate');
  const coverageGauge = gauge('loomwatch_quality_review_coverage', 'Reviewed frames over decided verdicts in the quality window (since the service counted every verdict)');
  const reviews = new Gauge({
    name: 'loomwatch_quality_reviews_total',
    help: 'Frames reviewed in the quality window (a gauge): kind flagged, confirmed (of flagged), ok, sampled (of ok), missed (of sampled)',
    labelNames: [...LABELS, 'kind'],
    registers: [options.registry],
    collect,
  });
  const dropped = new Gauge({ name: 'loomwatch_quality_groups_dropped', help: 'Quality label sets left out of the metrics by quality.maxGroups', registers: [options.registry], collect });
  const gauges = [precisionGauge, precisionLower, precisionUpper, missRateGauge, missRateLower, missRateUpper, coverageGauge, reviews];
}
