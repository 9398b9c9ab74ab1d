import sharp from 'sharp';
import { LoomwatchError } from '@loomwatch/contracts';

/** The anomaly map as 8-bit grey, 0…255 ↔ probability 0…1 (rounded, clamped; NaN → 0). */
export function mapToGray8(map: Float32Array): Uint8Array {
  const out = new Uint8ClampedArray(map.length);
  quantise(map, out);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

function quantise(map: Float32Array, into: Uint8ClampedArray): void {
  // A clamped array rounds (half to even) and clamps on store, NaN → 0, with no branch per pixel.
  for (let i = 0; i < map.length; i++) into[i] = (map[i] ?? 0) * 255;
}

/** How many 8-bit copies of one frame size are kept for reuse (two frames in flight, and room). */
const MAX_SPARE = 4;
/**
 * 8-bit copies of maps whose PNG is written, for the next map of the same size: a 4096 × 256 frame's
 * is 1 MB, and one allocated per frame fed V8's full collections. Only `encodeMapPng` takes and gives
 * them back, after sharp has finished reading.
 */
const spare: Uint8ClampedArray[] = [];

function takeSpare(length: number): Uint8ClampedArray {
  const found = spare.findIndex((levels) => levels.length === length);
  return found >= 0 ? spare.splice(found, 1)[0] ?? new Uint8ClampedArray(length) : new Uint8ClampedArray(length);
}

function giveBack(levels: Uint8ClampedArray): void {
  // A frame of another size drops the spares of the old one.
  if (spare.some((s) => s.length !== levels.length)) spare.length = 0;
  if (spare.length < MAX_SPARE) spare.push(levels);
}

/**
 * Encodes the anomaly map as an 8-bit greyscale PNG at the frame's resolution (the levels
 * `mapToGray8` gives; sharp, no filter, `compressionLevel`). The map is read before this returns:
 * it may be reused (`engine.release`) as soon as the promise exists.
 */
export async function encodeMapPng(map: Float32Array, width: number, height: number, compressionLevel = 1): Promise<Buffer> {
  if (map.length !== width * height) {
    throw new LoomwatchError('IMAGE_DIMENSIONS_MISMATCH', `the anomaly map has ${map.length} values, not ${width}×${height}: pass the map with its frame's width and height`);
  }
  const levels = takeSpare(map.length);
  quantise(map, levels);
  try {
    const raw = new Uint8Array(levels.buffer, levels.byteOffset, levels.length);
    return await sharp(raw, { raw: { width, height, channels: 1 } }).toColourspace('b-w').png({ compressionLevel, adaptiveFiltering: false }).toBuffer();
  } finally {
    giveBack(levels);
  }
}
