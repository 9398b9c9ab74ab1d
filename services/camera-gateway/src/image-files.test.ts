import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { looksComplete, readImageFile } from './image-files.js';

function image(format: 'png' | 'jpeg' | 'webp'): Promise<Buffer> {
  return sharp({ create: { width: 64, height: 16, channels: 3, background: { r: 90, g: 90, b: 90 } } })
    .toFormat(format)
    .toBuffer();
}

describe('looksComplete', () => {
  it.each(['png', 'jpeg', 'webp'] as const)('accepts a whole %s and rejects it cut short', async (format) => {
    const whole = await image(format);
    expect(looksComplete(whole, format)).toBe(true);
    for (const cut of [1, 7, Math.floor(whole.length / 2)]) expect(looksComplete(whole.subarray(0, whole.length - cut), format)).toBe(false);
  });

  it('accepts a JPEG padded with zero bytes after its end marker', async () => {
    const padded = Buffer.concat([await image('jpeg'), Buffer.alloc(16)]);
    expect(looksComplete(padded, 'jpeg')).toBe(true);
  });
});

describe('readImageFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'image-files-'));

  it('reads the size of a whole image', async () => {
    const path = join(dir, 'whole.png');
    writeFileSync(path, await image('png'));
    expect(await readImageFile(path)).toMatchObject({ width: 64, height: 16, encoding: 'png' });
  });

  it('calls a text file with an image name corrupt, and a truncated one incomplete', async () => {
    writeFileSync(join(dir, 'text.png'), 'not an image at all');
    await expect(readImageFile(join(dir, 'text.png'))).rejects.toMatchObject({ code: 'IMAGE_CORRUPT', retryable: false });
    const png = await image('png');
    writeFileSync(join(dir, 'half.png'), png.subarray(0, png.length - 20));
    await expect(readImageFile(join(dir, 'half.png'))).rejects.toMatchObject({ code: 'IMAGE_CORRUPT', details: { incomplete: true } });
  });

  it('calls an empty file empty', async () => {
    writeFileSync(join(dir, 'empty.png'), '');
    await expect(readImageFile(join(dir, 'empty.png'))).rejects.toMatchObject({ code: 'IMAGE_EMPTY' });
  });
});
