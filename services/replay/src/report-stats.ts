/** Descriptive statistics for the replay report: summaries (quantiles from @loomwatch/observability) and histograms. */
import { quantile } from '@loomwatch/observability';
import type { DistributionSummary, HistogramBin } from './report-model.js';

/** Mean, median, p5, p95 (interpolated between ranks), min and max; null for no values. */
export function summarize(values: readonly number[]): DistributionSummary | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    count: sorted.length,
    mean: sum / sorted.length,
    median: quantile(sorted, 0.5),
    p5: quantile(sorted, 0.05),
    p95: quantile(sorted, 0.95),
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
  };
}

/**
 * Equal-width bins over [−m, m], m the largest |value|, so that 0 always sits on the middle edge
 * (with an even bin count) and "better" and "worse" read as the two halves. All-zero values give
 * a single bin [0, 0].
 */
export function symmetricHistogram(values: readonly number[], binCount = 20): HistogramBin[] {
  if (values.length === 0) return [];
  const extent = values.reduce((largest, value) => Math.max(largest, Math.abs(value)), 0);
  if (extent === 0) return [{ from: 0, to: 0, count: values.length }];
  const width = (2 * extent) / binCount;
  const bins: HistogramBin[] = Array.from({ length: binCount }, (_, i) => ({
    from: -extent + i * width,
    to: i === binCount - 1 ? extent : -extent + (i + 1) * width,
    count: 0,
  }));
  for (const value of values) {
    const index = Math.min(binCount - 1, Math.floor((value + extent) / width));
    (bins[index] as HistogramBin).count += 1;
  }
  return bins;
}
