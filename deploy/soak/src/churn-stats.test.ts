import { describe, expect, it } from 'vitest';
import { messageKey } from '@loomwatch/contracts';
import { partitionOf } from '@loomwatch/kafka';
import { capacityFromBacklog, eventWindows, lagSettledMs, steadyLag, waitsIn, type LagSample } from './churn-stats.js';
import { balancedCameras } from './frames.js';

const T0 = 1_800_000_000_000;
const lag = (points: [number, number][]): LagSample[] => points.map(([s, value]) => ({ at: T0 + s * 1000, lag: value }));

describe('churn statistics', () => {
  it('gives each event the time up to the next one, the last up to the end of the load', () => {
    const windows = eventWindows(
      [
        { name: 'kill', at: T0 + 10_000 },
        { name: 'add', at: T0 + 50_000 },
      ],
      T0 + 90_000,
    );
    expect(windows).toEqual([
      { name: 'kill', from: T0 + 10_000, to: T0 + 50_000 },
      { name: 'add', from: T0 + 50_000, to: T0 + 90_000 },
    ]);
  });

  it('counts a frame in the window it was captured in, whenever it was decided', () => {
    const decisions = [
      { capturedAt: T0 + 9_000, decidedAt: T0 + 9_400 }, // before the window
      { capturedAt: T0 + 10_000, decidedAt: T0 + 10_500 },
      { capturedAt: T0 + 12_000, decidedAt: T0 + 21_000 }, // waited for the session timeout
      { capturedAt: T0 + 19_000, decidedAt: T0 + 21_000 },
      { capturedAt: T0 + 20_000, decidedAt: T0 + 20_300 }, // the next window's
    ];
    const stats = waitsIn(decisions, { from: T0 + 10_000, to: T0 + 20_000 });
    expect(stats.frames).toBe(3);
    expect(stats.p50Ms).toBe(2000);
    expect(stats.maxMs).toBe(9000);
    expect(stats.p99Ms).toBeCloseTo(8860, 0);
    expect(Number.isNaN(waitsIn(decisions, { from: T0, to: T0 + 1000 }).p99Ms)).toBe(true);
  });

  it('measures capacity over the middle of a backlog, not the start-up or the stragglers', () => {
    // 2 frames/s for 50 frames, after a 10 s start-up, then one straggler 30 s later.
    const decided = [T0 - 10_000, ...Array.from({ length: 50 }, (_, i) => T0 + i * 500), T0 + 55_000];
    expect(capacityFromBacklog(decided)).toBeCloseTo(2, 1);
    expect(Number.isNaN(capacityFromBacklog([T0, T0 + 1]))).toBe(true);
  });

  it('takes the steady lag as the highest lag of the quiet period, at least one frame', () => {
    const samples = lag([
      [0, 2],
      [1, 4],
      [2, 3],
      [3, 40],
    ]);
    expect(steadyLag(samples, { from: T0, to: T0 + 3000 })).toBe(4);
    expect(steadyLag(lag([[0, 0]]), { from: T0, to: T0 + 1000 })).toBe(1);
  });

  it('settles the lag at the first sample after the last one above the steady level, not at a dip in between', () => {
    const window = { name: 'kill', from: T0, to: T0 + 30_000 };
    const samples = lag([
      [0, 3],
      [2, 9],
      [4, 4], // a dip: not settled yet
      [6, 12],
      [8, 6],
      [10, 3],
      [12, 2],
      [31, 50], // the next window's
    ]);
    expect(lagSettledMs(samples, window, 4)).toBe(10_000);
    expect(lagSettledMs(lag([[0, 1], [5, 2]]), window, 4)).toBe(0);
    expect(lagSettledMs(lag([[0, 1], [5, 20]]), window, 4)).toBeUndefined();
  });

  it('picks camera names whose keys land evenly on the partitions, consecutive ones on different partitions', () => {
    const cameras = balancedCameras('churn', 6, 2);
    const partitions = cameras.map((camera) => partitionOf(messageKey(camera.lineId, camera.cameraId), 6));
    expect(cameras).toHaveLength(12);
    expect(new Set(cameras.map((camera) => camera.cameraId)).size).toBe(12);
    expect(partitions).toEqual([0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5]);
  });
});
