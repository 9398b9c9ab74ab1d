import { describe, expect, it } from 'vitest';
import { findRegions } from './regions.js';

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
});
