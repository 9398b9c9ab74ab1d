import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { aitexDir } from '@loomwatch/testkit';
import { decodeGray, type DecodeOptions } from './decode.js';

const options: DecodeOptions = { limitInputPixels: 8192 * 4096, colour: 'reject', minSide: 256 };
const convert: DecodeOptions = { ...options, colour: 'convert' };
const AITEX_FRAME = join(aitexDir(), 'defect/0001_002_00.png');

function grey(width: number, height: number, value = 100): Buffer {
  return Buffer.alloc(width * height, value);
}

async function greyPng(width: number, height: number, value = 100): Promise<Buffer> {
  return sharp(grey(width, height, value), { raw: { width, height, channels: 1 } }).toColourspace('b-w').png().toBuffer();
}

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** Rewrites a PNG's IHDR to declare another size (with a valid CRC): the shape of a decompression bomb. */
function withDeclaredSize(png: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(png);
  // signature (8) | length (4) | "IHDR" (4) | width (4) | height (4) | … | CRC over type + data
  out.writeUInt32BE(width, 16);
  out.writeUInt32BE(height, 20);
  out.writeUInt32BE(crc32(out.subarray(12, 29)), 29);
  return out;
}

describe('decodeGray', () => {
  it('decodes an AITEX frame to 4096×256 8-bit grey', async () => {
    const image = await decodeGray(readFileSync(AITEX_FRAME), options);
    expect([image.width, image.height, image.data.length]).toEqual([4096, 256, 4096 * 256]);
  });

  it('decodes a greyscale JPEG', async () => {
    const jpeg = await sharp(grey(300, 256), { raw: { width: 300, height: 256, channels: 1 } }).toColourspace('b-w').jpeg().toBuffer();
    const image = await decodeGray(jpeg, options);
    expect([image.width, image.height, image.data[0]]).toEqual([300, 256, 100]);
  });

  it('refuses a zero-byte file as IMAGE_EMPTY', async () => {
    await expect(decodeGray(Buffer.alloc(0), options)).rejects.toMatchObject({ code: 'IMAGE_EMPTY' });
  });

  it('refuses a text file as IMAGE_UNSUPPORTED_FORMAT', async () => {
    await expect(decodeGray(Buffer.from('frame 17: camera offline\n'), options)).rejects.toMatchObject({ code: 'IMAGE_UNSUPPORTED_FORMAT' });
  });

  it('refuses formats that are not camera frames, such as SVG and GIF', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="300" height="300"><rect width="300" height="300"/></svg>');
    await expect(decodeGray(svg, convert)).rejects.toMatchObject({ code: 'IMAGE_UNSUPPORTED_FORMAT' });
    const gif = await sharp({ create: { width: 300, height: 300, channels: 3, background: '#808080' } }).gif().toBuffer();
    await expect(decodeGray(gif, convert)).rejects.toMatchObject({ code: 'IMAGE_UNSUPPORTED_FORMAT' });
  });

  it('refuses a truncated AITEX frame as IMAGE_CORRUPT', async () => {
    const png = readFileSync(AITEX_FRAME);
    await expect(decodeGray(png.subarray(0, png.length >> 1), options)).rejects.toMatchObject({ code: 'IMAGE_CORRUPT' });
  });

  it('refuses an RGB image unless told to convert it', async () => {
    const rgb = await sharp({ create: { width: 300, height: 256, channels: 3, background: { r: 200, g: 10, b: 10 } } }).png().toBuffer();
    await expect(decodeGray(rgb, options)).rejects.toMatchObject({ code: 'IMAGE_CHANNELS_UNSUPPORTED' });
    const image = await decodeGray(rgb, convert);
    expect([image.width, image.height, image.data.length]).toEqual([300, 256, 300 * 256]);
  });

  it('reads grey with an opaque alpha channel as grey, as some AITEX frames are stored', async () => {
    const stored = await decodeGray(readFileSync(join(aitexDir(), 'normal/2311517-195063u/0001_000_04.png')), options);
    expect([stored.width, stored.height]).toEqual([4096, 256]);
    const pixels = Buffer.alloc(300 * 256 * 2);
    for (let i = 0; i < 300 * 256; i++) {
      pixels[2 * i] = i % 200;
      pixels[2 * i + 1] = 255;
    }
    const png = await sharp(pixels, { raw: { width: 300, height: 256, channels: 2 } }).toColourspace('b-w').png().toBuffer();
    expect((await sharp(png).metadata()).channels).toBe(2);
    const image = await decodeGray(png, options);
    expect(Array.from(image.data.subarray(0, 4))).toEqual([0, 1, 2, 3]);
    expect(image.data[299]).toBe(99);
  });

  it('refuses grey with a transparent alpha channel unless told to convert it', async () => {
    const greyAlpha = await sharp(Buffer.alloc(300 * 256 * 2, 90), { raw: { width: 300, height: 256, channels: 2 } }).toColourspace('b-w').png().toBuffer();
    await expect(decodeGray(greyAlpha, options)).rejects.toMatchObject({ code: 'IMAGE_CHANNELS_UNSUPPORTED', message: expect.stringContaining('transparent') as unknown });
    expect((await decodeGray(greyAlpha, convert)).data[0]).toBe(90);
    const rgba = await sharp(Buffer.alloc(300 * 256 * 4, 90), { raw: { width: 300, height: 256, channels: 4 } }).png().toBuffer();
    await expect(decodeGray(rgba, options)).rejects.toMatchObject({ code: 'IMAGE_CHANNELS_UNSUPPORTED' });
  });

  it('refuses a 16-bit image unless told to convert it, and converts it to 8 bits', async () => {
    const png16 = await sharp(grey(300, 256, 156), { raw: { width: 300, height: 256, channels: 1 } }).toColourspace('grey16').png().toBuffer();
    expect((await sharp(png16).metadata()).depth).toBe('ushort');
    await expect(decodeGray(png16, options)).rejects.toMatchObject({ code: 'IMAGE_DEPTH_UNSUPPORTED' });
    const image = await decodeGray(png16, convert);
    expect([image.data.length, image.data[0]]).toEqual([300 * 256, 156]);
  });

  it('refuses an image with a side shorter than a tile as IMAGE_TOO_SMALL', async () => {
    await expect(decodeGray(await greyPng(4096, 255), options)).rejects.toMatchObject({ code: 'IMAGE_TOO_SMALL' });
  });

  it('refuses an image above the pixel limit as IMAGE_TOO_LARGE before decoding it', async () => {
    await expect(decodeGray(readFileSync(AITEX_FRAME), { ...options, limitInputPixels: 4096 * 255 })).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE' });
  });

  it('refuses a decompression bomb, a small file whose header declares a huge image, as IMAGE_TOO_LARGE', async () => {
    const bomb = withDeclaredSize(await greyPng(300, 256), 60000, 60000);
    expect(bomb.length).toBeLessThan(10_000);
    await expect(decodeGray(bomb, options)).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE' });
  });
});
