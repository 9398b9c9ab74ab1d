import sharp, { type Metadata, type OutputInfo, type SharpOptions } from 'sharp';
import { LoomwatchError } from '@loomwatch/contracts';

/** An 8-bit single-channel frame, row-major. */
export interface GrayImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** How to decode: the engine passes its `inference` settings of the same names and the model's tile size. */
export interface DecodeOptions {
  /** Frames with more pixels are refused before decoding (`inference.limitInputPixels`). */
  limitInputPixels: number;
  /** `reject` refuses colour, transparency and 16-bit samples; `convert` turns them into 8-bit grey (`inference.colour`). */
  colour: 'reject' | 'convert';
  /** Frames narrower or lower than this are refused (the model's tile size). */
  minSide: number;
}

/** Still-image formats a camera or an operator might hand us; anything else (SVG, GIF, PDF, HEIF…) is refused. */
const FORMATS = new Set(['png', 'jpeg', 'tiff', 'webp']);

function classify(err: unknown, what: string): LoomwatchError {
  const message = err instanceof Error ? err.message : String(err);
  if (/unsupported image format/i.test(message)) {
    return new LoomwatchError('IMAGE_UNSUPPORTED_FORMAT', `${what} is not an image format sharp can read: send PNG, JPEG, TIFF or WebP`, { cause: err });
  }
  if (/pixel limit/i.test(message)) {
    return new LoomwatchError('IMAGE_TOO_LARGE', `${what} has more pixels than limitInputPixels allows: send smaller frames or raise inference.limitInputPixels`, { cause: err });
  }
  if (/empty/i.test(message)) return new LoomwatchError('IMAGE_EMPTY', `${what} is empty: the camera or the upload produced no bytes`, { cause: err });
  return new LoomwatchError('IMAGE_CORRUPT', `${what} is corrupt or truncated (${message}): re-capture or re-upload the frame`, { cause: err });
}

/**
 * Grey + alpha, as some AITEX frames are stored: an opaque alpha carries no information, so the
 * frame is read as grey (as the model pipeline reads it); a transparent one is refused unless
 * converting. sharp hands the pixels back as RGBA, from which grey and alpha are taken in one pass.
 */
async function decodeGreyAlpha(bytes: Uint8Array, input: SharpOptions, width: number, height: number, convert: boolean, what: string): Promise<GrayImage> {
  let rgba: { data: Buffer; info: OutputInfo };
  try {
    rgba = await sharp(bytes, input).toColourspace('srgb').ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw classify(err, what);
  }
  if (rgba.info.channels !== 4 || rgba.data.length !== width * height * 4) {
    throw new LoomwatchError('IMAGE_CORRUPT', `${what} decoded to ${rgba.info.width}×${rgba.info.height}×${rgba.info.channels}, not ${width}×${height} grey + alpha: re-capture the frame`);
  }
  const src = rgba.data;
  const grey = new Uint8Array(width * height);
  let minAlpha = 255;
  for (let i = 0, p = 0; i < grey.length; i++, p += 4) {
    grey[i] = src[p] ?? 0;
    const alpha = src[p + 3] ?? 0;
    if (alpha < minAlpha) minAlpha = alpha;
  }
  if (minAlpha < 255 && !convert) {
    throw new LoomwatchError(
      'IMAGE_CHANNELS_UNSUPPORTED',
      `${what} is grey with a transparent alpha channel (alpha down to ${minAlpha}); the model takes opaque 8-bit grey: send grey frames or set inference.colour to 'convert'`,
    );
  }
  return { data: grey, width, height };
}

/**
 * Decodes an encoded frame to 8-bit grey. Refuses, with a stable code each: no bytes
 * (IMAGE_EMPTY); bytes that are no supported image (IMAGE_UNSUPPORTED_FORMAT); more pixels than
 * the limit, checked from the header before decoding (IMAGE_TOO_LARGE); a side shorter than a
 * tile (IMAGE_TOO_SMALL); unless `colour: 'convert'`, 16-bit samples (IMAGE_DEPTH_UNSUPPORTED)
 * and colour or transparency (IMAGE_CHANNELS_UNSUPPORTED; grey with an opaque alpha is read as
 * grey); and data that fails to decode, sharp's warnings included (IMAGE_CORRUPT).
 */
export async function decodeGray(bytes: Uint8Array, options: DecodeOptions, what = 'the image'): Promise<GrayImage> {
  if (bytes.length === 0) throw new LoomwatchError('IMAGE_EMPTY', `${what} is empty (0 bytes): the camera or the upload produced no data`);
  const input: SharpOptions = { limitInputPixels: options.limitInputPixels, failOn: 'warning' };
  let meta: Metadata;
  try {
    meta = await sharp(bytes, input).metadata();
  } catch (err) {
    throw classify(err, what);
  }
  if (!FORMATS.has(meta.format)) {
    throw new LoomwatchError('IMAGE_UNSUPPORTED_FORMAT', `${what} is ${meta.format.toUpperCase()}: send PNG, JPEG, TIFF or WebP`);
  }
  const { width, height } = meta;
  if (width * height > options.limitInputPixels) {
    throw new LoomwatchError('IMAGE_TOO_LARGE', `${what} is ${width}×${height}, more than limitInputPixels (${options.limitInputPixels}): send smaller frames or raise inference.limitInputPixels`);
  }
  if (width < options.minSide || height < options.minSide) {
    throw new LoomwatchError('IMAGE_TOO_SMALL', `${what} is ${width}×${height}, smaller than one ${options.minSide}×${options.minSide} tile: send whole frames`);
  }
  const convert = options.colour === 'convert';
  if (meta.depth !== 'uchar' && !convert) {
    throw new LoomwatchError('IMAGE_DEPTH_UNSUPPORTED', `${what} has ${meta.depth} samples; the model takes 8-bit grey: send 8-bit frames or set inference.colour to 'convert'`);
  }
  if (meta.channels === 2 && meta.depth === 'uchar') return decodeGreyAlpha(bytes, input, width, height, convert, what);
  if (meta.channels !== 1 && !convert) {
    throw new LoomwatchError(
      'IMAGE_CHANNELS_UNSUPPORTED',
      `${what} has ${meta.channels} channels (${meta.space}${meta.hasAlpha ? ' with alpha' : ''}); the model takes 8-bit grey: send grey frames or set inference.colour to 'convert'`,
    );
  }
  let pipeline = sharp(bytes, input);
  if (meta.hasAlpha) pipeline = pipeline.removeAlpha();
  try {
    const { data, info } = await pipeline.toColourspace('b-w').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 1 || info.width !== width || info.height !== height || data.length !== width * height) {
      throw new LoomwatchError('IMAGE_CORRUPT', `${what} decoded to ${info.width}×${info.height}×${info.channels}, not ${width}×${height} grey: re-capture the frame`);
    }
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width, height };
  } catch (err) {
    if (err instanceof LoomwatchError) throw err;
    throw classify(err, what);
  }
}
