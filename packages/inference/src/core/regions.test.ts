import { describe, expect, it } from 'vitest';
import { rowMaxima } from './row-maxima.js';
import { findRegions, regionScratch } from './regions.js';

/** A map from rows of digits: digit d is the value d / 10. */
function mapOf(rows: string[]): { map: Float32Array; width: number; height: number } {
  const width = rows[0]?.length ?? 0;
  const map = Float32Array.from(rows.join('').split(''), (c) => Number(c) / 10);
  return { map, width, height: rows.length };
}

describe('findRegions', () => {
  it('joins diagonal neighbours (8-connectivity) and reports box, area, max and mean', () => {
    const { map, width, height } = mapOf([
      '900000', //
      '080000',
      '000000',
      '000770',
      '000560',
    ]);
    const regions = findRegions(map, width, height, { threshold: 0.5 });
    expect(regions).toHaveLength(2);
    expect(regions[0]).toMatchObject({ x: 0, y: 0, width: 2, height: 2, area: 2 });
    expect(regions[0]?.maxScore).toBeCloseTo(0.9, 6);
    expect(regions[0]?.meanScore).toBeCloseTo(0.85, 6);
    expect(regions[1]).toMatchObject({ x: 3, y: 3, width: 2, height: 2, area: 4 });
    expect(regions[1]?.maxScore).toBeCloseTo(0.7, 6);
    expect(regions[1]?.meanScore).toBeCloseTo(0.625, 6);
  });

  it('includes pixels exactly at the threshold', () => {
    const { map, width, height } = mapOf(['050', '000']);
    expect(findRegions(map, width, height, { threshold: 0.5 })).toMatchObject([{ x: 1, y: 0, area: 1 }]);
  });

  it('sorts regions by max score, highest first, then by area', () => {
    const { map, width, height } = mapOf(['6006009', '6000000', '0000800']);
    expect(findRegions(map, width, height, { threshold: 0.5 }).map((r) => [r.x, r.y, r.area])).toEqual([
      [6, 0, 1],
      [4, 2, 1],
      [0, 0, 2],
      [3, 0, 1],
    ]);
  });

  it('drops regions below the minimum area and keeps at most maxRegions', () => {
    const { map, width, height } = mapOf(['9090', '0099', '7000']);
    const big = findRegions(map, width, height, { threshold: 0.5, minArea: 2 });
    expect(big.map((r) => r.area)).toEqual([3]);
    expect(findRegions(map, width, height, { threshold: 0.5, maxRegions: 1 })).toHaveLength(1);
  });

  it('finds nothing on a map entirely below the threshold', () => {
    const { map, width, height } = mapOf(['444', '444']);
    expect(findRegions(map, width, height, { threshold: 0.5 })).toEqual([]);
  });

  it('finds the same regions when given the row maxima, with a work buffer another map left marks in', () => {
    const width = 64;
    const height = 48;
    // Blobs of different sizes on a low background, a NaN and a row of nothing but NaN.
    let seed = 7;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const map = Float32Array.from({ length: width * height }, () => random() * 0.4);
    for (let blob = 0; blob < 12; blob++) {
      const cx = Math.floor(random() * width);
      const cy = Math.floor(random() * height);
      const r = 1 + Math.floor(random() * 4);
      for (let y = Math.max(0, cy - r); y < Math.min(height, cy + r); y++) for (let x = Math.max(0, cx - r); x < Math.min(width, cx + r); x++) map[y * width + x] = 0.5 + random() * 0.5;
    }
    map[5] = NaN;
    map.fill(NaN, 20 * width, 21 * width);
    const options = { threshold: 0.5, minArea: 2 };
    const expected = findRegions(map, width, height, options);
    expect(expected.length).toBeGreaterThan(3);
    const rowMax = new Float32Array(height);
    rowMaxima(map, width, height, rowMax);
    // A scratch that found regions everywhere in another map first: its marks must not hide pixels of this one.
    const scratch = regionScratch(width, height);
    expect(findRegions(new Float32Array(width * height).fill(0.9), width, height, options, scratch)).toHaveLength(1);
    expect(findRegions(map, width, height, { ...options, rowMaxima: rowMax }, scratch)).toEqual(expected);
    expect(findRegions(map, width, height, { ...options, rowMaxima: rowMax }, scratch)).toEqual(expected);
  });
});
