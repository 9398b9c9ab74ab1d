import type { TilePlan } from './tiling.js';

/** How many tiles cover each position along one axis (tile origins at multiples of `stride`). */
export function coverage(length: number, count: number, tile: number, stride: number): Uint16Array {
  const cover = new Uint16Array(length);
  for (let i = 0; i < count; i++) {
    const end = Math.min(i * stride + tile, length);
    for (let p = i * stride; p < end; p++) cover[p] = (cover[p] ?? 0) + 1;
  }
  return cover;
}

/**
 * Reassembles per-tile model outputs into one map at frame resolution: each frame pixel is
 * the mean of the tiles that cover it; the padded part of the canvas is dropped. Coverage
 * is separable (tiles form a grid), so it is kept as two short per-axis arrays, not a map.
 */
export class Stitcher {
  readonly map: Float32Array;
  private readonly coverX: Uint16Array;
  private readonly coverY: Uint16Array;
  private readonly overlaps: boolean;

  /**
   * `map`: a `width × height` buffer to stitch into (a pooled one; its old contents are overwritten:
   * without overlap every pixel is copied from one tile, with overlap it is cleared first).
   */
  constructor(private readonly plan: TilePlan, map?: Float32Array) {
    const { width, height, tileSize, stride, cols, rows } = plan;
    if (map !== undefined && map.length !== width * height) {
      throw new RangeError(`a stitch buffer of ${map.length} values for a ${width}×${height} frame`);
    }
    this.overlaps = stride < tileSize;
    this.map = map ?? new Float32Array(width * height);
    if (map !== undefined && this.overlaps) map.fill(0);
    this.coverX = coverage(width, cols, tileSize, stride);
    this.coverY = coverage(height, rows, tileSize, stride);
  }

  /**
   * Adds tile `tile`'s output, read from `output` starting at `offset` (a `T × T` plane).
   * Without overlap every frame pixel comes from exactly one tile, so rows are copied.
   */
  add(tile: number, output: Float32Array, offset: number): void {
    const { width, height, tileSize: t } = this.plan;
    const x0 = this.plan.xs[tile] ?? 0;
    const y0 = this.plan.ys[tile] ?? 0;
    const w = Math.min(t, width - x0);
    const h = Math.min(t, height - y0);
    const map = this.map;
    if (!this.overlaps) {
      for (let ty = 0; ty < h; ty++) map.set(output.subarray(offset + ty * t, offset + ty * t + w), (y0 + ty) * width + x0);
      return;
    }
    for (let ty = 0; ty < h; ty++) {
      const dst = (y0 + ty) * width + x0;
      const src = offset + ty * t;
      for (let tx = 0; tx < w; tx++) map[dst + tx] = (map[dst + tx] ?? 0) + (output[src + tx] ?? 0);
    }
  }

  /** Divides by the coverage (a no-op when tiles do not overlap) and returns the map. */
  finish(): Float32Array {
    if (!this.overlaps) return this.map;
    const { width, height } = this.plan;
    const map = this.map;
    for (let y = 0; y < height; y++) {
      const cy = this.coverY[y] ?? 1;
      const row = y * width;
      for (let x = 0; x < width; x++) map[row + x] = (map[row + x] ?? 0) / (cy * (this.coverX[x] ?? 1));
    }
    return map;
  }
}
