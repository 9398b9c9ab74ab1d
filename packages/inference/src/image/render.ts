import { LoomwatchError } from '@loomwatch/contracts';
import { encodeGreyPng, type PngChunk } from '@loomwatch/overlay';

/** The anomaly map as 8-bit grey, 0…255 ↔ probability 0…1 (rounded, clamped; NaN → 0). */
export function mapToGray8(map: Float32Array): Uint8Array {
  // A clamped array rounds and clamps on store, with no branch per pixel.
  const out = new Uint8ClampedArray(map.length);
  for (let i = 0; i < map.length; i++) out[i] = (map[i] ?? 0) * 255;
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/**
 * Encodes the anomaly map as an 8-bit greyscale PNG at the frame's resolution, with the levels
 * `mapToGray8` gives, quantised straight into the rows that are compressed (no 8-bit copy of the
 * map). `chunks` go right after the header (the overlay recipe: `overlayRecipeChunk`). The map is
 * read only during the call: it may be reused once the promise is created.
 */
export function encodeMapPng(map: Float32Array, width: number, height: number, compressionLevel = 1, chunks: readonly PngChunk[] = []): Promise<Buffer> {
  try {
    if (map.length !== width * height) {
      throw new LoomwatchError('IMAGE_DIMENSIONS_MISMATCH', `the anomaly map has ${map.length} values, not ${width}×${height}: pass the map with its frame's width and height`);
    }
    const png = encodeGreyPng(
      width,
      height,
      (y, row) => {
        // The same store as mapToGray8's: a clamped array rounds half to even and clamps, NaN → 0.
        const from = y * width;
        for (let x = 0; x < width; x++) row[x] = (map[from + x] ?? 0) * 255;
      },
      { compressionLevel, chunks },
    );
    return Promise.resolve(png);
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}
