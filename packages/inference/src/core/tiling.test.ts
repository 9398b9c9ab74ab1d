import { describe, expect, it } from 'vitest';
import { fillTileBatch, inputLut, planTiles, reflectIndex } from './tiling.js';

/** A `width × height` frame whose pixel at (x, y) is `y * width + x`. */
function ramp(width: number, height: number): Uint8Array {
  return Uint8Array.from({ length: width * height }, (_, i) => i);
}

function tiles(frame: Uint8Array, width: number, height: number, tile: number, stride: number): number[][] {
  const plan = planTiles(width, height, tile, stride);
  const n = plan.xs.length;
  const out = new Float32Array(n * tile * tile);
  fillTileBatch(frame, plan, 0, n, inputLut(1, 0), out, new Int32Array(tile));
  return Array.from({ length: n }, (_, i) => Array.from(out.subarray(i * tile * tile, (i + 1) * tile * tile)));
}

describe('planTiles', () => {
  it('covers a 4096×256 AITEX frame with 16 tiles in one row and no padding', () => {
    const plan = planTiles(4096, 256, 256);
    expect([plan.cols, plan.rows, plan.paddedWidth, plan.paddedHeight]).toEqual([16, 1, 4096, 256]);
    expect(Array.from(plan.xs)).toEqual(Array.from({ length: 16 }, (_, i) => i * 256));
    expect(Array.from(plan.ys)).toEqual(new Array(16).fill(0));
  });

  it('adds a tile and pads when the frame does not divide evenly', () => {
    const plan = planTiles(600, 300, 256);
    expect([plan.cols, plan.rows, plan.paddedWidth, plan.paddedHeight]).toEqual([3, 2, 768, 512]);
    expect(Array.from(plan.xs)).toEqual([0, 256, 512, 0, 256, 512]);
    expect(Array.from(plan.ys)).toEqual([0, 0, 0, 256, 256, 256]);
  });

  it('places overlapping tiles every stride pixels', () => {
    const plan = planTiles(512, 256, 256, 128);
    expect([plan.cols, plan.rows, plan.paddedWidth]).toEqual([3, 1, 512]);
    expect(Array.from(plan.xs)).toEqual([0, 128, 256]);
  });

  it('rounds an overlapping plan up to a padded canvas when the stride does not fit', () => {
    const plan = planTiles(300, 256, 256, 100);
    expect([plan.cols, plan.paddedWidth]).toEqual([2, 356]);
  });

  it('rejects a stride larger than the tile, which would leave gaps', () => {
    expect(() => planTiles(512, 256, 256, 300)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => planTiles(512, 256, 256, 0)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('rejects a frame smaller than one tile as IMAGE_TOO_SMALL', () => {
    expect(() => planTiles(4096, 255, 256)).toThrow(expect.objectContaining({ code: 'IMAGE_TOO_SMALL' }));
  });
});

describe('reflectIndex', () => {
  it('mirrors indices without repeating the edge pixel, like numpy reflect', () => {
    expect([-2, -1, 0, 4, 5, 6, 9].map((i) => reflectIndex(i, 5))).toEqual([2, 1, 0, 4, 3, 2, 1]);
    expect(reflectIndex(3, 1)).toBe(0);
  });
});

describe('inputLut', () => {
  it('maps 8-bit values through scale and offset in float32', () => {
    const lut = inputLut(1 / 255, 0);
    expect(lut[0]).toBe(0);
    expect(lut[255]).toBe(1);
    // float32(51) × float32(1/255) = 0.2000000118… → nearest float32 0.20000001788…, as numpy computes it
    expect(lut[51]).toBe(0.20000001788139343);
    expect(inputLut(2, -1)[3]).toBe(5);
  });
});

describe('fillTileBatch', () => {
  it('copies interior tiles verbatim and fills the padding by reflection', () => {
    // 5×3 frame, 2×2 tiles, stride 2 → 3×2 tiles over a 6×4 canvas.
    //  0  1  2  3  4 | 3
    //  5  6  7  8  9 | 8
    // 10 11 12 13 14 | 13
    //  5  6  7  8  9 | 8     (row 3 reflects row 1)
    expect(tiles(ramp(5, 3), 5, 3, 2, 2)).toEqual([
      [0, 1, 5, 6],
      [2, 3, 7, 8],
      [4, 3, 9, 8],
      [10, 11, 5, 6],
      [12, 13, 7, 8],
      [14, 13, 9, 8],
    ]);
  });

  it('writes overlapping tiles for a stride smaller than the tile', () => {
    expect(tiles(ramp(3, 2), 3, 2, 2, 1)).toEqual([
      [0, 1, 3, 4],
      [1, 2, 4, 5],
    ]);
  });

  it('writes a batch that starts part-way through the plan at the start of the buffer', () => {
    const plan = planTiles(5, 3, 2, 2);
    const out = new Float32Array(2 * 4).fill(-1);
    fillTileBatch(ramp(5, 3), plan, 4, 2, inputLut(0.5, 1), out, new Int32Array(2));
    expect(Array.from(out)).toEqual([7, 7.5, 4.5, 5, 8, 7.5, 5.5, 5]);
  });
});
