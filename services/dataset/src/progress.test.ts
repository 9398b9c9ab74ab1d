import { describe, expect, it } from 'vitest';
import { formatDuration, formatPullProgress } from './progress.js';

const ID = '3f9c0a1b2c3d'.padEnd(64, '0');

describe('the pull progress line', () => {
  it('shows frames, megabytes, the rate and the time left at the rate of the frames fetched', () => {
    expect(formatPullProgress(ID, { done: 120, total: 400, fetched: 100, bytes: 84_000_000, elapsedMs: 10_000 })).toBe('pull 3f9c0a1b2c3d: 120/400 frames (30.0 %) · 84.0 MB · 8.40 MB/s · ETA 28s');
  });

  it('says ? for the time left before a frame is fetched, and 0s when done', () => {
    expect(formatPullProgress(ID, { done: 5, total: 10, fetched: 0, bytes: 0, elapsedMs: 0 })).toMatch(/· \? MB\/s · ETA \?$/);
    expect(formatPullProgress(ID, { done: 0, total: 0, fetched: 0, bytes: 0, elapsedMs: 3 })).toMatch(/0\/0 frames \(100\.0 %\) .* ETA 0s$/);
  });

  it('writes durations as seconds, minutes and hours', () => {
    expect(formatDuration(12_400)).toBe('12s');
    expect(formatDuration(271_000)).toBe('4m31s');
    expect(formatDuration(3_720_000)).toBe('1h02m');
  });
});
