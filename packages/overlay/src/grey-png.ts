import { crc32, deflateSync } from 'node:zlib';
import { LoomwatchError } from '@loomwatch/contracts';

/** The eight bytes every PNG starts with. */
export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** One PNG chunk before framing: its type (four Latin-1 letters, e.g. `tEXt`) and its data. */
export interface PngChunk {
  type: string;
  data: Uint8Array;
}

/** Length + type + data + CRC: the bytes a chunk takes in the file. */
const framed = (chunk: PngChunk): number => 12 + chunk.data.length;

/** Writes `chunk` framed (length, type, data, CRC of type and data) into `out` at `at`; returns where it ends. */
function writeChunk(out: Buffer, at: number, chunk: PngChunk): number {
  out.writeUInt32BE(chunk.data.length, at);
  out.write(chunk.type, at + 4, 4, 'latin1');
  out.set(chunk.data, at + 8);
  const end = at + 8 + chunk.data.length;
  out.writeUInt32BE(crc32(out.subarray(at + 4, end)) >>> 0, end);
  return end + 4;
}

/** One chunk as the bytes it takes in a file (for splicing into an existing PNG). */
export function pngChunkBytes(chunk: PngChunk): Buffer {
  const out = Buffer.allocUnsafe(framed(chunk));
  writeChunk(out, 0, chunk);
  return out;
}

/** Writes row `y`'s levels into `row` (`width` long; a clamped array rounds and clamps what is stored). */
export type FillGreyRow = (y: number, row: Uint8ClampedArray) => void;

export interface GreyPngOptions {
  /** zlib level, 0 (stored blocks, no compression) to 9. */
  compressionLevel: number;
  /** Chunks written right after the header, before the pixels (a `tEXt` overlay recipe, say). */
  chunks?: readonly PngChunk[];
}

/**
 * The filtered rows of the last size encoded (each a filter byte, 0, then the row): kept, since a
 * worker encodes every frame at the same size; deflate runs synchronously, so no two encodes share it.
 */
let rowsScratch = new Uint8ClampedArray(0);

/**
 * An 8-bit greyscale, non-interlaced PNG written directly: signature, IHDR, `chunks`, one IDAT
 * (node:zlib deflate at `compressionLevel` over rows that each start with filter byte 0, None),
 * IEND. `fillRow` writes each row's levels straight into the buffer that is compressed, so there is
 * no separate 8-bit image. Every byte is deterministic: the same levels, level and chunks give the
 * same file.
 */
export function encodeGreyPng(width: number, height: number, fillRow: FillGreyRow, options: GreyPngOptions): Buffer {
  const { compressionLevel, chunks = [] } = options;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0 || width > 0x7fffffff || height > 0x7fffffff) {
    throw new LoomwatchError('IMAGE_DIMENSIONS_MISMATCH', `a ${width}×${height} grey PNG cannot be written: width and height must be whole numbers from 1 to 2^31 − 1`);
  }
  if (!Number.isInteger(compressionLevel) || compressionLevel < 0 || compressionLevel > 9) {
    throw new LoomwatchError('CONFIG_INVALID', `PNG compression level ${compressionLevel} is not a whole number from 0 to 9: set inference.pngCompressionLevel within 0–9`);
  }
  for (const chunk of chunks) {
    if (!/^[A-Za-z]{4}$/.test(chunk.type)) throw new LoomwatchError('CONFIG_INVALID', `"${chunk.type}" is not a PNG chunk type (four ASCII letters): name the chunk e.g. tEXt`);
  }
  const stride = width + 1;
  if (rowsScratch.length !== stride * height) rowsScratch = new Uint8ClampedArray(stride * height);
  const rows = rowsScratch;
  for (let y = 0; y < height; y++) {
    rows[y * stride] = 0;
    fillRow(y, rows.subarray(y * stride + 1, (y + 1) * stride));
  }
  const idat = deflateSync(rows, { level: compressionLevel });

  const header = Buffer.allocUnsafe(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 0, 0, 0, 0], 8); // depth 8, colour type 0 (grey), deflate, adaptive filtering, no interlace
  const parts: PngChunk[] = [{ type: 'IHDR', data: header }, ...chunks, { type: 'IDAT', data: idat }, { type: 'IEND', data: new Uint8Array(0) }];
  const out = Buffer.allocUnsafe(PNG_SIGNATURE.length + parts.reduce((sum, chunk) => sum + framed(chunk), 0));
  out.set(PNG_SIGNATURE, 0);
  let at = PNG_SIGNATURE.length;
  for (const chunk of parts) at = writeChunk(out, at, chunk);
  return out;
}
