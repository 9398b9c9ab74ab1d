import { describe, expect, it } from 'vitest';
import { coverage, Stitcher } from './stitch.js';
import { fillTileBatch, inputLut, planTiles } from './tiling.js';

describe('coverage', () => {
  it('counts how many tiles cover each position', () => {
    expect(Array.from(coverage(5, 3, 2, 2))).toEqual([1, 1, 1, 1, 1]);
    expect(Array.from(coverage(3, 2, 2, 1))).toEqual([1, 2, 1]);
    expect(Array.from(coverage(6, 3, 4, 1))).toEqual([1, 2, 3, 3, 2, 1]);
  });
});

describe('Stitcher', () => {
  it('puts tiles back where they came from and crops the reflected padding', () => {
    const width = 7;
    const height = 5;
    const frame = Uint8Array.from({ length: width * height }, (_, i) => (i * 37) % 256);
    const plan = planTiles(width, height, 3, 3);
    const n = plan.xs.length;
    const outputs = new Float32Array(n * 9);
    fillTileBatch(frame, plan, 0, n, inputLut(1, 0), outputs, new Int32Array(3));
    const stitcher = new Stitcher(plan);
    for (let i = 0; i < n; i++) stitcher.add(i, outputs, i * 9);
    expect(Array.from(stitcher.finish())).toEqual(Array.from(frame));
  });

  it('averages the tiles where they overlap', () => {
    // 3×2 frame, 2×2 tiles at x = 0 and x = 1: the middle column is covered twice.
    const plan = planTiles(3, 2, 2, 1);
    const outputs = Float32Array.from([1, 1, 1, 1, 3, 3, 3, 3]);
    const stitcher = new Stitcher(plan);
    stitcher.add(0, outputs, 0);
    stitcher.add(1, outputs, 4);
    expect(Array.from(stitcher.finish())).toEqual([1, 2, 3, 1, 2, 3]);
  });

  it('averages over both axes where a 2-D grid of tiles overlaps', () => {
    // 3×3 frame, 2×2 tiles at (0,0) (1,0) (0,1) (1,1) with values 1, 2, 3, 4.
    const plan = planTiles(3, 3, 2, 1);
    const outputs = Float32Array.from([1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4]);
    const stitcher = new Stitcher(plan);
    for (let i = 0; i < 4; i++) stitcher.add(i, outputs, i * 4);
    expect(Array.from(stitcher.finish())).toEqual([1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4]);
  });

  it('reads one channel of a multi-channel output by offset', () => {
    const plan = planTiles(2, 2, 2, 2);
    // [1 tile, 2 channels, 2, 2]: channel 1 holds the anomaly map.
    const outputs = Float32Array.from([9, 9, 9, 9, 0.1, 0.2, 0.3, 0.4]);
    const stitcher = new Stitcher(plan, new Float32Array(4).fill(5));
    stitcher.add(0, outputs, 4);
    expect(Array.from(stitcher.finish())).toEqual(Array.from(Float32Array.from([0.1, 0.2, 0.3, 0.4])));
  });

  it('stitches into a reused buffer as into a new one, overlapping or not', () => {
    for (const stride of [1, 2]) {
      const plan = planTiles(3, 2, 2, stride);
      const n = plan.xs.length;
      const outputs = Float32Array.from({ length: n * 4 }, (_, i) => i + 1);
      const stitch = (into?: Float32Array): number[] => {
        const stitcher = new Stitcher(plan, into);
        for (let i = 0; i < n; i++) stitcher.add(i, outputs, i * 4);
        return Array.from(stitcher.finish());
      };
      expect(stitch(new Float32Array(6).fill(Number.NaN))).toEqual(stitch());
    }
    expect(() => new Stitcher(planTiles(3, 2, 2, 1), new Float32Array(5))).toThrow(RangeError);
  });
});
