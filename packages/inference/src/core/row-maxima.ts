/**
 * One pass over an anomaly map for what the frame's post-processing needs from all of it: the
 * maximum of each row (which rows can hold a region) and of the whole map (the score when the
 * card does not smooth), and whether every value is finite.
 */

/**
 * Writes each row's maximum to `rowMax` (length ≥ `height`; NaN values are passed over, as a
 * `≥ threshold` test passes over them, an infinity counts) and returns the map's maximum, or NaN
 * when the map holds a NaN or an infinity anywhere (a broken model: no score should come of it).
 */
export function rowMaxima(map: Float32Array, width: number, height: number, rowMax: Float32Array): number {
  let max = -Infinity;
  // v - v is 0 for every finite v and NaN for a NaN or an infinity; the NaN survives the sum.
  let finite = 0;
  for (let y = 0; y < height; y++) {
    const from = y * width;
    const to = from + width;
    let m = -Infinity;
    for (let i = from; i < to; i++) {
      const v = map[i] ?? 0;
      if (v > m) m = v;
      finite += v - v;
    }
    rowMax[y] = m;
    if (m > max) max = m;
  }
  return finite === 0 ? max : NaN;
}
