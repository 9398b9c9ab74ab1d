import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { mapLevels } from '@loomwatch/overlay';
import { encodeMapPng, mapToGray8 } from './render.js';

/** A map with every kind of value the quantiser must get right: below 0, above 1, NaN, halves (ties round to even), a smooth ramp. */
function awkwardMap(width: number, height: number): Float32Array {
  const special = [-0.2, 0, 0.5 / 255, 1.5 / 255, 2.5 / 255, 0.5, 254.5 / 255, 1, 1.7, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
  return Float32Array.from({ length: width * height }, (_, i) => (i < special.length ? (special[i] ?? 0) : ((i * 13) % width) / (width - 1) + Math.sin(i) * 0.01));
}

async function pixels(png: Buffer): Promise<Buffer> {
  return sharp(png, { failOn: 'warning' }).extractChannel(0).raw().toBuffer();
}

describe('mapToGray8', () => {
  it('maps probability 0…1 onto 0…255, rounded and clamped', () => {
    expect(Array.from(mapToGray8(Float32Array.from([-0.2, 0, 0.5, 1 / 255, 0.999, 1, 1.7])))).toEqual([0, 0, 128, 1, 255, 255, 255]);
  });
});

describe('encodeMapPng', () => {
  it('writes an 8-bit single-channel PNG at the map resolution', async () => {
    const map = Float32Array.from({ length: 40 * 30 }, (_, i) => (i % 40) / 39);
    const png = await encodeMapPng(map, 40, 30);
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height, meta.channels, meta.depth]).toEqual(['png', 40, 30, 1, 'uchar']);
    const data = await pixels(png);
    expect([data[0], data[39], data[40 * 29 + 39]]).toEqual([0, 255, 255]);
  });

  it.each([0, 1, 6])('decodes (sharp) to exactly the levels mapToGray8 gives, at compression level %i', async (level) => {
    const map = awkwardMap(301, 67);
    const png = await encodeMapPng(map, 301, 67, level);
    expect((await pixels(png)).equals(Buffer.from(mapToGray8(map)))).toBe(true);
  });

  it('compresses more at a higher level and stores at level 0', async () => {
    const map = awkwardMap(512, 64);
    const [stored, fast, small] = await Promise.all([0, 1, 9].map((level) => encodeMapPng(map, 512, 64, level)));
    expect(stored?.length).toBeGreaterThan(512 * 64);
    expect(fast?.length).toBeLessThan(stored?.length ?? 0);
    expect(small?.length).toBeLessThanOrEqual(fast?.length ?? 0);
  });

  it('gives each of several maps encoded at once its own levels (the 8-bit copies are reused only once read)', async () => {
    const maps = [0, 1, 2, 3, 4, 5].map((k) => awkwardMap(128, 16 + k).subarray(0, 128 * 16).map((v) => v * (k + 1) * 0.3));
    const pngs = await Promise.all(maps.map((map) => encodeMapPng(map, 128, 16, 1)));
    const again = await Promise.all(maps.map((map) => encodeMapPng(map, 128, 16, 1)));
    for (const [k, map] of maps.entries()) {
      expect((await pixels(pngs[k] ?? Buffer.alloc(0))).equals(Buffer.from(mapToGray8(map)))).toBe(true);
      expect(again[k]?.equals(pngs[k] ?? Buffer.alloc(0))).toBe(true);
    }
  });

  it('refuses a map whose length is not width × height', async () => {
    await expect(encodeMapPng(new Float32Array(10), 4, 4)).rejects.toMatchObject({ code: 'IMAGE_DIMENSIONS_MISMATCH' });
  });
});

describe('the stored map and the on-request renderer', () => {
  it('reads back from encodeMapPng exactly the levels mapToGray8 gives, which the per-frame overlay is drawn from', async () => {
    const map = Float32Array.from({ length: 64 * 32 }, (_, i) => ((i * 13) % 64) / 63 - 0.01);
    const stored = await mapLevels(await encodeMapPng(map, 64, 32));
    expect([stored.width, stored.height]).toEqual([64, 32]);
    expect(Buffer.from(stored.levels).equals(Buffer.from(mapToGray8(map)))).toBe(true);
  });
});
