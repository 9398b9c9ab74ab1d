import type { InputStats } from '@loomwatch/contracts';

/** Bins of the input histogram: 16 equal-width bins over 0…255 (bin = value >> 4). */
export const HISTOGRAM_BINS = 16;

/** Mean, population std, min, max and a 16-bin histogram (fractions) of an 8-bit frame. */
export function inputStats(frame: Uint8Array): InputStats {
  const counts = new Uint32Array(256);
  for (let i = 0; i < frame.length; i++) {
    const v = frame[i] ?? 0;
    counts[v] = (counts[v] ?? 0) + 1;
  }
  const n = frame.length;
  let sum = 0;
  let sumSq = 0;
  let min = 255;
  let max = 0;
  const histogram = new Array<number>(HISTOGRAM_BINS).fill(0);
  for (let v = 0; v < 256; v++) {
    const c = counts[v] ?? 0;
    if (c === 0) continue;
    sum += c * v;
    sumSq += c * v * v;
    if (v < min) min = v;
    if (v > max) max = v;
    const bin = v >> 4;
    histogram[bin] = (histogram[bin] ?? 0) + c;
  }
  if (n === 0) return { mean: 0, std: 0, min: 0, max: 0, histogram };
  const mean = sum / n;
  const variance = Math.max(0, sumSq / n - mean * mean);
  return { mean, std: Math.sqrt(variance), min, max, histogram: histogram.map((c) => c / n) };
}
