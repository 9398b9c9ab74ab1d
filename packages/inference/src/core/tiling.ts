import { LoomwatchError } from '@loomwatch/contracts';

/**
 * Where the tiles of one frame go. Tiles start at multiples of `stride` and cover a padded
 * canvas `paddedWidth × paddedHeight` ≥ the frame; the part beyond the frame is the frame
 * reflected at its right and bottom edges (numpy `reflect`: the edge pixel is not repeated)
 * and is cropped away when the tiles are stitched back.
 */
export interface TilePlan {
  readonly width: number;
  readonly height: number;
  readonly tileSize: number;
  readonly stride: number;
  readonly paddedWidth: number;
  readonly paddedHeight: number;
  readonly cols: number;
  readonly rows: number;
  /** Tile origins in row-major order: tile `i` starts at `(xs[i], ys[i])`. */
  readonly xs: Int32Array;
  readonly ys: Int32Array;
}

/** Tiles along one axis: enough that the last one reaches the edge. */
function tilesAlong(length: number, tile: number, stride: number): number {
  return Math.ceil((length - tile) / stride) + 1;
}

export function planTiles(width: number, height: number, tileSize: number, stride: number = tileSize): TilePlan {
  if (!Number.isInteger(stride) || stride < 1 || stride > tileSize) {
    throw new LoomwatchError('CONFIG_INVALID', `stride ${stride} must be an integer in 1..${tileSize} (the tile size), or tiles would leave gaps`);
  }
  if (width < tileSize || height < tileSize) {
    throw new LoomwatchError('IMAGE_TOO_SMALL', `image ${width}×${height} is smaller than one ${tileSize}×${tileSize} tile`);
  }
  const cols = tilesAlong(width, tileSize, stride);
  const rows = tilesAlong(height, tileSize, stride);
  const xs = new Int32Array(cols * rows);
  const ys = new Int32Array(cols * rows);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      xs[r * cols + c] = c * stride;
      ys[r * cols + c] = r * stride;
    }
  }
  return {
    width,
    height,
    tileSize,
    stride,
    paddedWidth: (cols - 1) * stride + tileSize,
    paddedHeight: (rows - 1) * stride + tileSize,
    cols,
    rows,
    xs,
    ys,
  };
}

/** numpy `reflect` index into `0..length-1` (…2 1 | 0 1 2 … n-1 | n-2 n-3 …). */
export function reflectIndex(i: number, length: number): number {
  if (length === 1) return 0;
  const period = 2 * (length - 1);
  let m = i % period;
  if (m < 0) m += period;
  return m < length ? m : period - m;
}

/** `lut[v]` = the model input for pixel value `v`, rounded to float32 as the exporter does. */
export function inputLut(scale: number, offset: number): Float32Array {
  const lut = new Float32Array(256);
  const s = Math.fround(scale);
  const o = Math.fround(offset);
  for (let v = 0; v < 256; v++) lut[v] = Math.fround(v * s) + o;
  return lut;
}

/**
 * Writes tiles `first … first+count-1` of `plan` from the 8-bit frame into `out`
 * (laid out `[count, 1, T, T]`), mapping pixels through `lut`. No allocation: `out` is the
 * caller's preallocated batch buffer; a source-column index table is needed only for
 * tiles that reach into the padding, and is written into `colScratch` (length ≥ T).
 */
export function fillTileBatch(
  frame: Uint8Array,
  plan: TilePlan,
  first: number,
  count: number,
  lut: Float32Array,
  out: Float32Array,
  colScratch: Int32Array,
): void {
  const { width, height, tileSize: t } = plan;
  const area = t * t;
  for (let k = 0; k < count; k++) {
    const x0 = plan.xs[first + k] ?? 0;
    const y0 = plan.ys[first + k] ?? 0;
    const base = k * area;
    const inside = x0 + t <= width;
    if (!inside) for (let tx = 0; tx < t; tx++) colScratch[tx] = reflectIndex(x0 + tx, width);
    for (let ty = 0; ty < t; ty++) {
      const row = reflectIndex(y0 + ty, height) * width;
      const dst = base + ty * t;
      if (inside) {
        const src = row + x0;
        for (let tx = 0; tx < t; tx++) out[dst + tx] = lut[frame[src + tx] ?? 0] ?? 0;
      } else {
        for (let tx = 0; tx < t; tx++) out[dst + tx] = lut[frame[row + (colScratch[tx] ?? 0)] ?? 0] ?? 0;
      }
    }
  }
}
