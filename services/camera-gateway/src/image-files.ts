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

/** Reads an image file with its size (from the header only; the worker does the decoding). */
export async function readImageFile(path: string): Promise<ImageFile> {
  const encoding = encodingOf(path);
  if (encoding === undefined) {
    throw new LoomwatchError('IMAGE_UNSUPPORTED_FORMAT', `${path}: not a PNG, JPEG, TIFF or WebP file name`);
  }
  const body = await readFile(path);
  if (body.length === 0) throw new LoomwatchError('IMAGE_EMPTY', `${path} is empty`);
  try {
    const { width, height } = await sharp(body).metadata();
    return { path, body, width, height, encoding };
  } catch (err) {
    throw new LoomwatchError('IMAGE_CORRUPT', `${path}: cannot read the image header — ${(err as Error).message}`, { cause: err });
  }
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
