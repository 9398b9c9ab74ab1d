import type { Region } from '@loomwatch/contracts';

export interface RegionOptions {
  /** Pixels with map value ≥ this belong to a region. */
  threshold: number;
  /** Regions smaller than this (pixels) are dropped. @defaultValue 1 */
  minArea?: number;
  /** At most this many regions are kept, the highest-scoring first. @defaultValue 256 */
  maxRegions?: number;
  /**
   * Each row's maximum (`rowMaxima`, length ≥ height): a row whose maximum is below the threshold
   * holds no pixel of a region and is not scanned. Without it every pixel is looked at.
   */
  rowMaxima?: Float32Array;
}

/**
 * Reusable work arrays for `findRegions`, sized for one frame. Given `rowMaxima`, a call clears
 * only the rows that can hold a region: marks it left in other rows lie on pixels below the
 * threshold, which are never taken, so they change nothing.
 */
export interface RegionScratch {
  visited: Uint8Array;
  stack: Int32Array;
}

export function regionScratch(width: number, height: number): RegionScratch {
  return { visited: new Uint8Array(width * height), stack: new Int32Array(width * height) };
}

/**
 * Connected components of `map ≥ threshold` with 8-connectivity (diagonal neighbours join),
 * on the unsmoothed map. Each gets its bounding box, pixel area and the max and mean of the
 * map over its pixels. Sorted by max score (ties: larger area, then top-left first).
 */
export function findRegions(
  map: Float32Array,
  width: number,
  height: number,
  options: RegionOptions,
  scratch: RegionScratch = regionScratch(width, height),
): Region[] {
  const { threshold } = options;
  const minArea = options.minArea ?? 1;
  const maxRegions = options.maxRegions ?? 256;
  const { visited, stack } = scratch;
  const rowMax = options.rowMaxima;
  if (rowMax === undefined) visited.fill(0);
  else for (let y = 0; y < height; y++) if ((rowMax[y] ?? 0) >= threshold) visited.fill(0, y * width, (y + 1) * width);
  const regions: Region[] = [];
  for (let y = 0; y < height; y++) {
    if (rowMax !== undefined && !((rowMax[y] ?? 0) >= threshold)) continue;
    const rowEnd = (y + 1) * width;
    for (let seed = y * width; seed < rowEnd; seed++) {
      if (!((map[seed] ?? 0) >= threshold) || visited[seed] === 1) continue;
      const region = grow(map, width, height, threshold, visited, stack, seed);
      if (region.area >= minArea) regions.push(region);
    }
  }
  regions.sort((a, b) => b.maxScore - a.maxScore || b.area - a.area || a.y - b.y || a.x - b.x);
  return regions.length > maxRegions ? regions.slice(0, maxRegions) : regions;
}

/** The 8-connected component of `map ≥ threshold` around `seed` (not yet visited), marking its pixels visited. */
function grow(map: Float32Array, width: number, height: number, threshold: number, visited: Uint8Array, stack: Int32Array, seed: number): Region {
    visited[seed] = 1;
    let top = 0;
    stack[top++] = seed;
    let minX = width;
    let maxX = -1;
    let minY = height;
    let maxY = -1;
    let area = 0;
    let max = -Infinity;
    let sum = 0;
    while (top > 0) {
      const p = stack[--top] ?? 0;
      const y = (p / width) | 0;
      const x = p - y * width;
      const v = map[p] ?? 0;
      area++;
      sum += v;
      if (v > max) max = v;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const q = ny * width + nx;
          if (visited[q] === 1 || !((map[q] ?? 0) >= threshold)) continue;
          visited[q] = 1;
          stack[top++] = q;
        }
      }
    }
  return {
    x: minX,
    y: minY,
    width: maxX - minX + 1,
    height: maxY - minY + 1,
    area,
    maxScore: clamp01(max),
    meanScore: clamp01(sum / area),
  };
}

function clamp01(value: number): number {
  return Math.min(1, Math.max(0, value));
}
