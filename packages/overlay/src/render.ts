import sharp from 'sharp';
import type { Region } from '@loomwatch/contracts';
import type { GrayImage } from './decode.js';
import { normalizeScore, type Normalization } from './heat-scale.js';

/**
 * The overlay picture: the frame in grey, the anomaly map as heat colour where it is high, the
 * regions outlined; as RGB pixels and encoded as PNG or JPEG.
 */

/** A 256-entry jet colour map (blue → cyan → yellow → red), RGB interleaved. */
export function jetLut(): Uint8Array {
  const lut = new Uint8Array(256 * 3);
  const ramp = (x: number): number => Math.round(255 * Math.min(1, Math.max(0, x)));
  for (let i = 0; i < 256; i++) {
    const t = i / 255;
    lut[i * 3] = ramp(1.5 - Math.abs(4 * t - 3));
    lut[i * 3 + 1] = ramp(1.5 - Math.abs(4 * t - 2));
    lut[i * 3 + 2] = ramp(1.5 - Math.abs(4 * t - 1));
  }
  return lut;
}

const JET = jetLut();
const BOX: readonly [number, number, number] = [255, 0, 255];

/** What the overlay outlines of a region: its box. */
export type RegionBox = Pick<Region, 'x' | 'y' | 'width' | 'height'>;

export interface OverlayStyle {
  /** Map values are placed on the heat scale like scores: 0 at `normalization.min`, 0.5 at this, 1 at `normalization.max`. */
  pixelThreshold: number;
  normalization: Normalization;
  /** Opacity of the heat colour where the map is highest. @defaultValue 0.65 */
  maxAlpha?: number;
  /** Region outline width in pixels. @defaultValue 2 */
  boxWidth?: number;
}

export interface OverlayOptions {
  /** @defaultValue 'png' */
  format?: 'png' | 'jpeg';
  /** @defaultValue 1 */
  pngCompressionLevel?: number;
  /** @defaultValue 85 */
  jpegQuality?: number;
}

function drawBox(rgb: Uint8Array, width: number, height: number, region: RegionBox, thickness: number): void {
  const x0 = region.x;
  const y0 = region.y;
  const x1 = Math.min(width - 1, region.x + region.width - 1);
  const y1 = Math.min(height - 1, region.y + region.height - 1);
  const paint = (x: number, y: number): void => {
    const p = (y * width + x) * 3;
    rgb[p] = BOX[0];
    rgb[p + 1] = BOX[1];
    rgb[p + 2] = BOX[2];
  };
  for (let d = 0; d < thickness; d++) {
    for (let x = x0; x <= x1; x++) {
      if (y0 + d <= y1) paint(x, y0 + d);
      if (y1 - d >= y0) paint(x, y1 - d);
    }
    for (let y = y0; y <= y1; y++) {
      if (x0 + d <= x1) paint(x0 + d, y);
      if (x1 - d >= x0) paint(x1 - d, y);
    }
  }
}

/** The map value at and below which the heat colour is fully transparent (heat ≤ 0.25; the normalisation is monotonic). */
function transparentUpTo({ pixelThreshold, normalization }: OverlayStyle): number {
  return pixelThreshold > normalization.min ? (normalization.min + pixelThreshold) / 2 : pixelThreshold;
}

/**
 * The frame in grey with the anomaly map blended in as heat colour where it is high (fully
 * transparent below a quarter of the heat scale, rising to `maxAlpha`) and region outlines
 * drawn on top, as RGB pixels.
 */
export function overlayPixels(frame: GrayImage, map: Float32Array, regions: readonly RegionBox[], style: OverlayStyle): Uint8Array {
  const { width, height, data } = frame;
  const maxAlpha = style.maxAlpha ?? 0.65;
  const rgb = new Uint8Array(width * height * 3);
  const clear = transparentUpTo(style);
  for (let i = 0; i < width * height; i++) {
    const grey = data[i] ?? 0;
    const value = map[i] ?? 0;
    const p = i * 3;
    if (!(value > clear)) {
      // Most of a frame: no heat colour, the grey pixel as it is (no per-pixel normalisation).
      rgb[p] = rgb[p + 1] = rgb[p + 2] = grey;
      continue;
    }
    const heat = normalizeScore(value, style.pixelThreshold, style.normalization);
    const alpha = maxAlpha * Math.min(1, Math.max(0, (heat - 0.25) / 0.5));
    const c = Math.round(heat * 255) * 3;
    rgb[p] = grey + alpha * ((JET[c] ?? 0) - grey);
    rgb[p + 1] = grey + alpha * ((JET[c + 1] ?? 0) - grey);
    rgb[p + 2] = grey + alpha * ((JET[c + 2] ?? 0) - grey);
  }
  for (const region of regions) drawBox(rgb, width, height, region, style.boxWidth ?? 2);
  return rgb;
}

/** The heat colour of one 8-bit map level: its opacity and the jet colour it blends towards. */
interface HeatLevel {
  alpha: number;
  r: number;
  g: number;
  b: number;
}

/**
 * The heat colour of each of the 256 levels of a stored (8-bit) anomaly map, computed as
 * `overlayPixels` does for the level's value `level / 255` (as a float32, like a map sample), or
 * undefined for a level the overlay leaves grey.
 */
function heatLevels(style: OverlayStyle): (HeatLevel | undefined)[] {
  const maxAlpha = style.maxAlpha ?? 0.65;
  const clear = transparentUpTo(style);
  return Array.from({ length: 256 }, (_, level) => {
    const value = Math.fround(level / 255);
    if (!(value > clear)) return undefined;
    const heat = normalizeScore(value, style.pixelThreshold, style.normalization);
    const c = Math.round(heat * 255) * 3;
    return { alpha: maxAlpha * Math.min(1, Math.max(0, (heat - 0.25) / 0.5)), r: JET[c] ?? 0, g: JET[c + 1] ?? 0, b: JET[c + 2] ?? 0 };
  });
}

/**
 * `overlayPixels` over the anomaly map as stored (8-bit grey, 0…255 ↔ 0…1, see `mapToGray8` of `@loomwatch/inference`): the
 * same pixels as `overlayPixels(frame, map8 / 255, …)`, with the heat colour looked up per level
 * rather than computed per pixel. The worker renders its overlays this way, and so does the
 * on-request renderer from the stored map, so both give the same image.
 */
export function overlayPixelsFromGray8(frame: GrayImage, map8: Uint8Array, regions: readonly RegionBox[], style: OverlayStyle): Uint8Array {
  const { width, height, data } = frame;
  if (map8.length !== width * height) throw new RangeError(`the map has ${map8.length} pixels, the ${width}×${height} frame ${width * height}`);
  const levels = heatLevels(style);
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const grey = data[i] ?? 0;
    const level = levels[map8[i] ?? 0];
    const p = i * 3;
    if (level === undefined) {
      rgb[p] = rgb[p + 1] = rgb[p + 2] = grey;
      continue;
    }
    const { alpha } = level;
    rgb[p] = grey + alpha * (level.r - grey);
    rgb[p + 1] = grey + alpha * (level.g - grey);
    rgb[p + 2] = grey + alpha * (level.b - grey);
  }
  for (const region of regions) drawBox(rgb, width, height, region, style.boxWidth ?? 2);
  return rgb;
}

/** Encodes overlay pixels (RGB) as PNG or JPEG. */
export function encodeOverlayPixels(rgb: Uint8Array, width: number, height: number, options: OverlayOptions = {}): Promise<Buffer> {
  const image = sharp(rgb, { raw: { width, height, channels: 3 } });
  return options.format === 'jpeg'
    ? image.jpeg({ quality: options.jpegQuality ?? 85 }).toBuffer()
    : image.png({ compressionLevel: options.pngCompressionLevel ?? 1, adaptiveFiltering: false }).toBuffer();
}

/** Encodes the overlay over the stored (8-bit) anomaly map as PNG or JPEG (see `overlayPixelsFromGray8`). */
export function encodeOverlayFromGray8(
  frame: GrayImage,
  map8: Uint8Array,
  regions: readonly RegionBox[],
  style: OverlayStyle,
  options: OverlayOptions = {},
): Promise<Buffer> {
  return encodeOverlayPixels(overlayPixelsFromGray8(frame, map8, regions, style), frame.width, frame.height, options);
}

/** Encodes the overlay as PNG or JPEG. */
export async function encodeOverlay(
  frame: GrayImage,
  map: Float32Array,
  regions: readonly RegionBox[],
  style: OverlayStyle,
  options: OverlayOptions = {},
): Promise<Buffer> {
  return encodeOverlayPixels(overlayPixels(frame, map, regions, style), frame.width, frame.height, options);
}
