import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { mapLevels } from '@loomwatch/overlay';
import { encodeMapPng, mapToGray8 } from './render.js';

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
    const data = await sharp(png).extractChannel(0).raw().toBuffer();
    expect([data[0], data[39], data[40 * 29 + 39]]).toEqual([0, 255, 255]);
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
