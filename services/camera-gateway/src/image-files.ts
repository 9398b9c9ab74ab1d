import { readFile, readdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import sharp from 'sharp';
import { LoomwatchError, type ImageEncoding } from '@loomwatch/contracts';

const ENCODINGS: Record<string, ImageEncoding> = {
  '.png': 'png',
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
  '.tif': 'tiff',
  '.tiff': 'tiff',
  '.webp': 'webp',
};

export function encodingOf(file: string): ImageEncoding | undefined {
  return ENCODINGS[extname(file).toLowerCase()];
}

/** Image files under `dir`, recursively, sorted by path; masks (`*_mask*.png`) are skipped. */
export async function listImageFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && encodingOf(entry.name) !== undefined && !/_mask\d*\./.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

export interface ImageFile {
  path: string;
  body: Buffer;
  width: number;
  height: number;
  encoding: ImageEncoding;
}

const PNG_IEND = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);

/**
 * Whether the bytes end the way a whole file of that format ends: PNG with its IEND chunk, JPEG
 * with its end-of-image marker, WebP with as many bytes as its RIFF header announces. A header
 * alone is readable long before a writer has finished, so this is what tells a half-written
 * frame from a complete one. TIFF has no trailer: it is always "complete" here.
 */
export function looksComplete(body: Buffer, encoding: ImageEncoding): boolean {
  switch (encoding) {
    case 'png':
      return body.length >= PNG_IEND.length && body.subarray(body.length - PNG_IEND.length).equals(PNG_IEND);
    case 'jpeg': {
      // Some encoders pad after the end-of-image marker with a few zero bytes.
      let end = body.length;
      while (end > 0 && body.length - end < 64 && body[end - 1] === 0x00) end--;
      return end >= 2 && body[end - 2] === 0xff && body[end - 1] === 0xd9;
    }
    case 'webp':
      return body.length >= 12 && body.readUInt32LE(4) + 8 <= body.length;
    case 'tiff':
    case 'raw-gray8':
      return true;
  }
}

/** Size and format from the header (the worker does the decoding); `IMAGE_CORRUPT` when unreadable. */
export async function describeImageBody(body: Buffer, what: string): Promise<{ width: number; height: number; format: string; colourChannels: number; depth: string }> {
  if (body.length === 0) throw new LoomwatchError('IMAGE_EMPTY', `${what} is empty`);
  try {
    const { width, height, format, channels, hasAlpha, depth } = await sharp(body).metadata();
    return { width, height, format, colourChannels: channels - (hasAlpha ? 1 : 0), depth };
  } catch (err) {
    throw new LoomwatchError('IMAGE_CORRUPT', `${what}: cannot read the image header — ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Reads an image file with its size. `IMAGE_EMPTY`, `IMAGE_CORRUPT` (unreadable header) and
 * `IMAGE_UNSUPPORTED_FORMAT` are permanent; a file that does not end like a whole image of its
 * format is `IMAGE_CORRUPT` with `details.incomplete`, since it may still be being written.
 */
export async function readImageFile(path: string): Promise<ImageFile> {
  const encoding = encodingOf(path);
  if (encoding === undefined) {
    throw new LoomwatchError('IMAGE_UNSUPPORTED_FORMAT', `${path}: not a PNG, JPEG, TIFF or WebP file name`);
  }
  const body = await readFile(path);
  const { width, height } = await describeImageBody(body, path);
  if (!looksComplete(body, encoding)) {
    throw new LoomwatchError('IMAGE_CORRUPT', `${path}: the ${encoding} data ends early (truncated or still being written)`, {
      details: { incomplete: true },
    });
  }
  return { path, body, width, height, encoding };
}

/**
 * What an AITEX file name tells: `NNNN_DDD_FF.png` — frame, defect code (000 = none), fabric code.
 * Other names give nothing.
 */
export function aitexProduct(path: string): { fabricCode?: string; attributes: Record<string, string> } {
  const name = basename(path, extname(path));
  const match = /^(\d{4})_(\d{3})_(\d{2})$/.exec(name);
  if (match === null) return { attributes: { sourceFile: name.slice(0, 256) } };
  return { fabricCode: match[3] ?? '', attributes: { sourceFile: name, aitexDefectCode: match[2] ?? '' } };
}
