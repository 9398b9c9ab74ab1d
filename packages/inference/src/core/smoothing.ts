/**
 * DRAEM's score filter: a `k × k` mean, stride 1, zero padding `k // 2`, divisor always `k²`
 * (PyTorch `avg_pool2d(count_include_pad=True)`), so values near the border are pulled
 * towards zero exactly as in the reference. Separable running sums: O(1) per pixel whatever
 * `k`. Running sums are float64 (adding and subtracting along a row never drifts), so the result
 * differs from a float32 reference only in the last bits.
 */
export interface SmoothingScratch {
  /** Horizontal window sums, rounded once to float32 (the running sum itself is float64). */
  rows: Float32Array;
  column: Float64Array;
}

export function smoothingScratch(width: number, height: number): SmoothingScratch {
  return { rows: new Float32Array(width * height), column: new Float64Array(width) };
}

/** Horizontal pass: `rows[y, x]` = Σ `src[y, x-r … x+r]` inside the frame. */
function sumRows(src: Float32Array, width: number, height: number, r: number, rows: Float32Array): void {
  const head = Math.min(r, width);
  for (let y = 0; y < height; y++) {
    const base = y * width;
    let sum = 0;
    for (let x = 0; x < head; x++) sum += src[base + x] ?? 0;
    // Three spans so the inner loops carry no bounds tests: the window enters, slides, leaves.
    const slideFrom = Math.min(r + 1, width);
    const slideTo = Math.max(slideFrom, width - r);
    let x = 0;
    for (; x < slideFrom; x++) {
      if (x + r < width) sum += src[base + x + r] ?? 0;
      rows[base + x] = sum;
    }
    for (; x < slideTo; x++) {
      sum += (src[base + x + r] ?? 0) - (src[base + x - r - 1] ?? 0);
      rows[base + x] = sum;
    }
    for (; x < width; x++) {
      if (x + r < width) sum += src[base + x + r] ?? 0;
      sum -= src[base + x - r - 1] ?? 0;
      rows[base + x] = sum;
    }
  }
}

/**
 * Vertical pass, row by row (cache-friendly): `column[x]` = Σ `rows[y-r … y+r, x]`, updated by
 * the row entering and the row leaving the window. Writes the filtered map to `out` when given
 * and returns its maximum either way. The three update loops carry no per-pixel branches.
 */
function sumColumns(rows: Float32Array, width: number, height: number, k: number, column: Float64Array, out: Float32Array | undefined): number {
  const r = k >> 1;
  const divisor = k * k;
  column.fill(0);
  for (let y = 0; y < Math.min(r, height); y++) {
    const base = y * width;
    for (let x = 0; x < width; x++) column[x] = (column[x] ?? 0) + (rows[base + x] ?? 0);
  }
  let max = -Infinity;
  for (let y = 0; y < height; y++) {
    const enter = y + r < height ? (y + r) * width : -1;
    const leave = y - r - 1 >= 0 ? (y - r - 1) * width : -1;
    if (enter >= 0 && leave >= 0) {
      for (let x = 0; x < width; x++) {
        const c = (column[x] ?? 0) + (rows[enter + x] ?? 0) - (rows[leave + x] ?? 0);
        column[x] = c;
        if (c > max) max = c;
      }
    } else if (enter >= 0) {
      for (let x = 0; x < width; x++) {
        const c = (column[x] ?? 0) + (rows[enter + x] ?? 0);
        column[x] = c;
        if (c > max) max = c;
      }
    } else if (leave >= 0) {
      for (let x = 0; x < width; x++) {
        const c = (column[x] ?? 0) - (rows[leave + x] ?? 0);
        column[x] = c;
        if (c > max) max = c;
      }
    } else {
      for (let x = 0; x < width; x++) max = Math.max(max, column[x] ?? 0);
    }
    if (out !== undefined) {
      const base = y * width;
      for (let x = 0; x < width; x++) out[base + x] = (column[x] ?? 0) / divisor;
    }
  }
  // A NaN or infinity anywhere in the map leaves its running sums NaN to the end, where the
  // comparisons above would have skipped it: report it rather than a plausible maximum.
  for (let x = 0; x < width; x++) if (!Number.isFinite(column[x])) return NaN;
  return max / divisor;
}

export function meanFilter(
  src: Float32Array,
  width: number,
  height: number,
  k: number,
  out: Float32Array = new Float32Array(width * height),
  scratch: SmoothingScratch = smoothingScratch(width, height),
): Float32Array {
  sumRows(src, width, height, k >> 1, scratch.rows);
  sumColumns(scratch.rows, width, height, k, scratch.column, out);
  return out;
}

/** The maximum of `meanFilter(src)`, without writing the filtered map: the frame score. NaN if the map holds a NaN or an infinity. */
export function smoothedMax(
  src: Float32Array,
  width: number,
  height: number,
  k: number,
  scratch: SmoothingScratch = smoothingScratch(width, height),
): number {
  if (k === 1) return finiteMax(src);
  sumRows(src, width, height, k >> 1, scratch.rows);
  return sumColumns(scratch.rows, width, height, k, scratch.column, undefined);
}

/** The maximum, or NaN when any value is a NaN or an infinity; one pass. */
function finiteMax(values: Float32Array): number {
  let max = -Infinity;
  // v - v is 0 for every finite v and NaN for a NaN or an infinity; the NaN survives the sum.
  let finite = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? 0;
    if (v > max) max = v;
    finite += v - v;
  }
  return finite === 0 ? max : NaN;
}

export function maxOf(values: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? -Infinity;
    if (v > max) max = v;
  }
  return max;
}
