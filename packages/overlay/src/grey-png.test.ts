import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { encodeGreyPng, pngChunkBytes } from './grey-png.js';

const WIDTH = 37;
const HEIGHT = 11;
const levels = Uint8Array.from({ length: WIDTH * HEIGHT }, (_, i) => (i * 7 + (i >> 3)) & 255);
const fill = (y: number, row: Uint8ClampedArray): void => row.set(levels.subarray(y * WIDTH, (y + 1) * WIDTH));

describe('encodeGreyPng', () => {
  it.each([0, 1, 6, 9])('writes an 8-bit grey PNG that sharp decodes to the levels given, at level %i', async (compressionLevel) => {
    const png = encodeGreyPng(WIDTH, HEIGHT, fill, { compressionLevel });
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height, meta.channels, meta.depth, meta.isProgressive]).toEqual(['png', WIDTH, HEIGHT, 1, 'uchar', false]);
    const data = await sharp(png, { failOn: 'warning' }).extractChannel(0).raw().toBuffer();
    expect(data.equals(Buffer.from(levels))).toBe(true);
  });

  it('writes CRCs a decoder checks: a flipped CRC byte makes the same file unreadable', async () => {
    const png = encodeGreyPng(WIDTH, HEIGHT, fill, { compressionLevel: 1 });
    await expect(sharp(png, { failOn: 'warning' }).raw().toBuffer()).resolves.toBeInstanceOf(Buffer);
    const broken = Buffer.from(png);
    const iendCrc = broken.length - 1;
    broken[iendCrc - 12] = (broken[iendCrc - 12] ?? 0) ^ 0xff; // the IDAT's CRC, right before IEND
    await expect(sharp(broken, { failOn: 'warning' }).raw().toBuffer()).rejects.toThrow();
  });

  it('puts extra chunks between the header and the pixels', () => {
    const png = encodeGreyPng(WIDTH, HEIGHT, fill, { compressionLevel: 1, chunks: [{ type: 'tEXt', data: Buffer.from('Comment\0hello', 'latin1') }] });
    const text = pngChunkBytes({ type: 'tEXt', data: Buffer.from('Comment\0hello', 'latin1') });
    expect(png.toString('latin1', 12, 16)).toBe('IHDR');
    expect(png.subarray(33, 33 + text.length).equals(text)).toBe(true);
    expect(png.toString('latin1', 33 + text.length + 4, 33 + text.length + 8)).toBe('IDAT');
  });

  it('gives the same bytes for the same levels, and refuses impossible sizes, levels and chunk types', () => {
    expect(encodeGreyPng(WIDTH, HEIGHT, fill, { compressionLevel: 6 }).equals(encodeGreyPng(WIDTH, HEIGHT, fill, { compressionLevel: 6 }))).toBe(true);
    expect(() => encodeGreyPng(0, HEIGHT, fill, { compressionLevel: 1 })).toThrow(expect.objectContaining({ code: 'IMAGE_DIMENSIONS_MISMATCH' }));
    expect(() => encodeGreyPng(WIDTH, HEIGHT, fill, { compressionLevel: 10 })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => encodeGreyPng(WIDTH, HEIGHT, fill, { compressionLevel: 1, chunks: [{ type: 'tEX', data: new Uint8Array(0) }] })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});
