import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { normalizeScore } from './heat-scale.js';
import { encodeOverlay, encodeOverlayFromGray8, jetLut, overlayPixels, overlayPixelsFromGray8, type OverlayStyle } from './render.js';

const style: OverlayStyle = { pixelThreshold: 0.5, normalization: { min: 0.1, max: 0.9 } };

describe('jetLut', () => {
  it('runs from dark blue through green to dark red', () => {
    const lut = jetLut();
    expect(Array.from(lut.subarray(0, 3))).toEqual([0, 0, 128]);
    // t = 128/255: r = 1.5 − |4t − 3| = 0.5078 → 130, g saturates, b = 1.5 − |4t − 1| = 0.4922 → 126
    expect(Array.from(lut.subarray(128 * 3, 128 * 3 + 3))).toEqual([130, 255, 126]);
    expect(Array.from(lut.subarray(255 * 3, 255 * 3 + 3))).toEqual([128, 0, 0]);
  });
});

describe('overlayPixels', () => {
  const frame = { width: 6, height: 4, data: new Uint8Array(24).fill(100) };

  it('leaves the frame grey where the map is low', () => {
    const rgb = overlayPixels(frame, new Float32Array(24).fill(0.1), [], style);
    expect(Array.from(rgb.subarray(0, 6))).toEqual([100, 100, 100, 100, 100, 100]);
  });

  it('blends in the heat colour where the map is high', () => {
    const map = new Float32Array(24).fill(0.1);
    map[7] = 0.9;
    const rgb = overlayPixels(frame, map, [], style);
    // heat 1 → jet dark red (128, 0, 0) at 65 % opacity over grey 100
    expect(Array.from(rgb.subarray(21, 24))).toEqual([118, 35, 35]);
  });

  it('gives every map value the colour of the blend formula, around the edge where the heat starts showing too', () => {
    const values = Float32Array.from({ length: 1001 }, (_, i) => i / 1000);
    const grey = Uint8Array.from({ length: values.length }, (_, i) => (i * 37) % 256);
    const jet = jetLut();
    for (const look of [style, { pixelThreshold: 0.05, normalization: { min: 0.1, max: 0.9 } }, { pixelThreshold: 0.3, normalization: { min: 0, max: 0.3 } }]) {
      const rgb = overlayPixels({ width: values.length, height: 1, data: grey }, values, [], look);
      const expected = Array.from(values).flatMap((value, i) => {
        const heat = normalizeScore(value, look.pixelThreshold, look.normalization);
        const alpha = 0.65 * Math.min(1, Math.max(0, (heat - 0.25) / 0.5));
        const c = Math.round(heat * 255) * 3;
        const g = grey[i] ?? 0;
        return [0, 1, 2].map((k) => Math.trunc(Math.min(255, Math.max(0, g + alpha * ((jet[c + k] ?? 0) - g)))));
      });
      expect(Array.from(rgb)).toEqual(expected);
    }
  });

  it('outlines each region in magenta and leaves its inside alone', () => {
    const rgb = overlayPixels(frame, new Float32Array(24), [{ x: 1, y: 0, width: 4, height: 4 }], { ...style, boxWidth: 1 });
    const px = (x: number, y: number): number[] => Array.from(rgb.subarray((y * 6 + x) * 3, (y * 6 + x) * 3 + 3));
    expect(px(1, 0)).toEqual([255, 0, 255]);
    expect(px(4, 3)).toEqual([255, 0, 255]);
    expect(px(2, 1)).toEqual([100, 100, 100]);
    expect(px(0, 0)).toEqual([100, 100, 100]);
  });
});

describe('encodeOverlay', () => {
  it('writes an RGB PNG or a JPEG at the frame resolution', async () => {
    const frame = { width: 64, height: 32, data: new Uint8Array(64 * 32).fill(80) };
    const map = new Float32Array(64 * 32);
    for (const format of ['png', 'jpeg'] as const) {
      const meta = await sharp(await encodeOverlay(frame, map, [], style, { format })).metadata();
      expect([meta.format, meta.width, meta.height, meta.channels]).toEqual([format, 64, 32, 3]);
    }
  });
});

describe('overlayPixelsFromGray8', () => {
  it('gives the pixels overlayPixels gives for the map as stored (level / 255), for every level, grey and heat scale', () => {
    const width = 256;
    const height = 7;
    const map8 = Uint8Array.from({ length: width * height }, (_, i) => (i * 97 + Math.floor(i / width)) % 256);
    const grey = Uint8Array.from({ length: width * height }, (_, i) => (i * 37 + 11) % 256);
    const frame = { width, height, data: grey };
    const regions = [{ x: 3, y: 1, width: 40, height: 5, area: 200, maxScore: 1, meanScore: 1 }];
    const looks = [style, { pixelThreshold: 0.05, normalization: { min: 0.1, max: 0.9 } }, { pixelThreshold: 0.3, normalization: { min: 0, max: 0.3 } }, { pixelThreshold: 0.7, normalization: { min: 0.7, max: 0.7 } }];
    for (const look of looks) {
      const asFloat = Float32Array.from(map8, (level) => level / 255);
      expect(Buffer.from(overlayPixelsFromGray8(frame, map8, regions, look)).equals(Buffer.from(overlayPixels(frame, asFloat, regions, look)))).toBe(true);
    }
  });

  it('refuses a map of another size than the frame', () => {
    expect(() => overlayPixelsFromGray8({ width: 4, height: 2, data: new Uint8Array(8) }, new Uint8Array(7), [], style)).toThrow(RangeError);
  });

  it('encodes the same JPEG as encodeOverlay over the stored map', async () => {
    const frame = { width: 64, height: 32, data: Uint8Array.from({ length: 64 * 32 }, (_, i) => i % 251) };
    const map8 = Uint8Array.from({ length: 64 * 32 }, (_, i) => ((i * 13) % 64) * 4);
    const stored = Float32Array.from(map8, (level) => level / 255);
    const a = await encodeOverlayFromGray8(frame, map8, [], style, { format: 'jpeg' });
    const b = await encodeOverlay(frame, stored, [], style, { format: 'jpeg' });
    expect(a.equals(b)).toBe(true);
  });
});
