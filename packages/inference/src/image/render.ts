import sharp from 'sharp';

/** The anomaly map as 8-bit grey, 0…255 ↔ probability 0…1 (rounded, clamped; NaN → 0). */
export function mapToGray8(map: Float32Array): Uint8Array {
  // A clamped array rounds and clamps on store, with no branch per pixel.
  const out = new Uint8ClampedArray(map.length);
  for (let i = 0; i < map.length; i++) out[i] = (map[i] ?? 0) * 255;
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** Encodes the anomaly map as an 8-bit greyscale PNG at the frame's resolution. */
export async function encodeMapPng(map: Float32Array, width: number, height: number, compressionLevel = 1): Promise<Buffer> {
  return sharp(mapToGray8(map), { raw: { width, height, channels: 1 } })
    .toColourspace('b-w')
    .png({ compressionLevel, adaptiveFiltering: false })
    .toBuffer();
}
