import { createHash } from 'node:crypto';
import sharp, { type OutputInfo } from 'sharp';
import { LoomwatchError, type ErrorCode, type ObjectRef } from '@loomwatch/contracts';
import { decodeGray, type GrayImage } from './decode.js';
import { encodeOverlayFromGray8 } from './render.js';
import { readOverlayRecipe, recipeRegions, type OverlayLook, type OverlayRecipe } from './overlay-recipe.js';

/**
 * Overlays rendered when someone asks for one (`worker.overlays: on-request`): the worker stores
 * only the anomaly map, with the overlay's recipe in it (`overlay-recipe.ts`), and names the
 * overlay's key in the verdict; the dashboard's object proxy, the inference API and anything else
 * that hands an overlay to people call `OverlayRenderer.get`, which reads the map and the frame,
 * renders the overlay exactly as the worker would have (`encodeOverlayFromGray8`), stores it at
 * that key (the cache) and returns it. The package `@loomwatch/overlay`: sharp and zod, no model
 * runtime.
 */


/** Why an overlay could not be rendered; each is a `LoomwatchError` with the code in brackets. */
export type OverlayProblem =
  /** The key is not `overlays/<…>.jpg|png` [OBJECT_KEY_INVALID]. */
  | 'OVERLAY_KEY_INVALID'
  /** No anomaly map beside it: never decided, or expired [OBJECT_NOT_FOUND]. */
  | 'OVERLAY_MAP_MISSING'
  /** The frame the map names is gone (expired) [OBJECT_NOT_FOUND]. */
  | 'OVERLAY_FRAME_MISSING'
  /** The frame is there but is not the one decided (overwritten) [IMAGE_CHECKSUM_MISMATCH]. */
  | 'OVERLAY_FRAME_CHANGED'
  /** The map has no recipe: written before on-request overlays (its overlay was stored then) [OBJECT_NOT_FOUND]. */
  | 'OVERLAY_RECIPE_MISSING'
  /** The map's recipe is unreadable, names another format than the key, or does not fit the frame [IMAGE_CORRUPT]. */
  | 'OVERLAY_RECIPE_INVALID';

const CODES: Record<OverlayProblem, ErrorCode> = {
  OVERLAY_KEY_INVALID: 'OBJECT_KEY_INVALID',
  OVERLAY_MAP_MISSING: 'OBJECT_NOT_FOUND',
  OVERLAY_FRAME_MISSING: 'OBJECT_NOT_FOUND',
  OVERLAY_FRAME_CHANGED: 'IMAGE_CHECKSUM_MISMATCH',
  OVERLAY_RECIPE_MISSING: 'OBJECT_NOT_FOUND',
  OVERLAY_RECIPE_INVALID: 'IMAGE_CORRUPT',
};

/** An overlay that cannot be rendered: `problem` says which part is missing or wrong, `code` the taxonomy's class of it. */
export class OverlayUnavailableError extends LoomwatchError {
  constructor(
    readonly problem: OverlayProblem,
    message: string,
    cause?: unknown,
  ) {
    super(CODES[problem], message, { cause, details: { problem } });
  }
}

/** The key prefixes the worker stores anomaly maps and overlays under. */
export const MAPS_PREFIX = 'maps/';
export const OVERLAYS_PREFIX = 'overlays/';

/** The anomaly map's and the overlay's keys of one decision (`base`: `<model>/<version>/<line>/<camera>/<frame>`). */
export function resultKeys(base: string, overlayFormat: 'jpeg' | 'png'): { anomalyMap: string; overlay: string } {
  return { anomalyMap: `${MAPS_PREFIX}${base}.png`, overlay: `${OVERLAYS_PREFIX}${base}.${overlayFormat === 'jpeg' ? 'jpg' : 'png'}` };
}

/** The anomaly map beside an overlay key and the format the key names; throws OVERLAY_KEY_INVALID for anything else. */
export function mapOfOverlay(ref: ObjectRef): { map: ObjectRef; format: 'jpeg' | 'png' } {
  const match = /^overlays\/(.+)\.(jpg|png)$/.exec(ref.key);
  if (match === null) {
    throw new OverlayUnavailableError('OVERLAY_KEY_INVALID', `${ref.key} is not an overlay key (overlays/<model>/<version>/<line>/<camera>/<frame>.jpg or .png)`);
  }
  const [, base = '', extension] = match;
  return { map: { bucket: ref.bucket, key: `${MAPS_PREFIX}${base}.png` }, format: extension === 'jpg' ? 'jpeg' : 'png' };
}

/** The objects the renderer reads and writes (a `BlobStore` is one); `get` throws `OBJECT_NOT_FOUND` for a missing object. */
export interface OverlayObjects {
  get(ref: ObjectRef): Promise<Buffer>;
  put(ref: ObjectRef, body: Buffer, contentType?: string): Promise<void>;
}

export interface RenderedOverlay {
  body: Buffer;
  contentType: 'image/jpeg' | 'image/png';
}

export interface OverlayRenderOptions {
  /** Frames above this many pixels are refused when decoding, as the engine does (`inference.limitInputPixels`). @defaultValue 8192 × 4096 */
  limitInputPixels?: number;
}

const DEFAULT_LIMIT_INPUT_PIXELS = 8192 * 4096;

function contentTypeOf(format: 'jpeg' | 'png'): RenderedOverlay['contentType'] {
  return format === 'jpeg' ? 'image/jpeg' : 'image/png';
}

/** The recipe of a stored map, or OVERLAY_RECIPE_MISSING / OVERLAY_RECIPE_INVALID naming the map. */
export function recipeOf(mapPng: Buffer, where: string): OverlayRecipe {
  const recipe = readOverlayRecipe(mapPng);
  if ('problem' in recipe) {
    throw recipe.problem === 'missing'
      ? new OverlayUnavailableError('OVERLAY_RECIPE_MISSING', `${where}: ${recipe.detail}; its overlay was stored with it, or decide the frame again`)
      : new OverlayUnavailableError('OVERLAY_RECIPE_INVALID', `${where}: ${recipe.detail}; decide the frame again to replace the map`);
  }
  return recipe;
}

/**
 * Renders the overlay of a frame (its bytes) from its anomaly map PNG and the map's recipe (or a
 * look, for a decision held in memory): the frame decoded as the engine decoded it, the map's
 * 8-bit levels on the recipe's heat scale, the recipe's regions outlined, encoded in the recipe's
 * format. Pure: no store.
 */
export async function renderOverlayFromMap(frameBytes: Buffer, mapPng: Buffer, recipe: OverlayLook, options: OverlayRenderOptions = {}): Promise<RenderedOverlay> {
  const frame = await decodeFrameOf(frameBytes, recipe, options);
  const map = await mapLevels(mapPng);
  if (map.width !== frame.width || map.height !== frame.height) {
    throw new OverlayUnavailableError(
      'OVERLAY_RECIPE_INVALID',
      `the anomaly map is ${map.width}×${map.height} but its frame ${frame.width}×${frame.height}: the map is not this frame's; decide the frame again`,
    );
  }
  const style = { pixelThreshold: recipe.pixelThreshold, normalization: recipe.normalization };
  const body = await encodeOverlayFromGray8(frame, map.levels, recipeRegions(recipe), style, {
    format: recipe.format,
    jpegQuality: recipe.jpegQuality,
    pngCompressionLevel: recipe.pngCompressionLevel,
  });
  return { body, contentType: contentTypeOf(recipe.format) };
}

/** A frame's bytes decoded as the engine decoded them (the recipe's `colour`), without the model's size limits. */
export function decodeFrameOf(frameBytes: Buffer, recipe: Pick<OverlayLook, 'colour'>, options: OverlayRenderOptions = {}): Promise<GrayImage> {
  return decodeGray(frameBytes, { limitInputPixels: options.limitInputPixels ?? DEFAULT_LIMIT_INPUT_PIXELS, colour: recipe.colour, minSide: 1 }, 'the frame');
}

/** A stored anomaly map's 8-bit levels; OVERLAY_RECIPE_INVALID when it is no readable PNG. */
export async function mapLevels(mapPng: Buffer): Promise<{ levels: Uint8Array; width: number; height: number }> {
  let map: { data: Buffer; info: OutputInfo };
  try {
    map = await sharp(mapPng).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new OverlayUnavailableError('OVERLAY_RECIPE_INVALID', 'the anomaly map is not a readable PNG: decide the frame again to replace it', err);
  }
  return { levels: new Uint8Array(map.data.buffer, map.data.byteOffset, map.data.length), width: map.info.width, height: map.info.height };
}

function missing(err: unknown): boolean {
  return err instanceof LoomwatchError && err.code === 'OBJECT_NOT_FOUND';
}

/**
 * Renders overlays on first request from the stored map and frame, and stores each at its key
 * (later requests read that object and never get here). Concurrent requests for one overlay in
 * this process share one render; another process rendering it too writes the same bytes to the
 * same key, which is harmless.
 */
export class OverlayRenderer {
  private readonly inFlight = new Map<string, Promise<RenderedOverlay>>();

  constructor(
    private readonly objects: OverlayObjects,
    private readonly options: OverlayRenderOptions = {},
  ) {}

  /** Renders the overlay at `ref` (an overlay key beside its map), stores it there and returns it. */
  render(ref: ObjectRef): Promise<RenderedOverlay> {
    const id = `${ref.bucket}/${ref.key}`;
    const running = this.inFlight.get(id);
    if (running !== undefined) return running;
    const rendering = this.renderAndStore(ref).finally(() => this.inFlight.delete(id));
    this.inFlight.set(id, rendering);
    return rendering;
  }

  /** Renders currently in progress (for metrics and tests). */
  get rendering(): number {
    return this.inFlight.size;
  }

  private async renderAndStore(ref: ObjectRef): Promise<RenderedOverlay> {
    const { map: mapRef, format } = mapOfOverlay(ref);
    const where = `s3://${mapRef.bucket}/${mapRef.key}`;
    let mapPng: Buffer;
    try {
      mapPng = await this.objects.get(mapRef);
    } catch (err) {
      if (missing(err)) throw new OverlayUnavailableError('OVERLAY_MAP_MISSING', `no anomaly map at ${where} for the overlay ${ref.key}: the frame was never decided by that version, or its results expired`, err);
      throw err;
    }
    const recipe = recipeOf(mapPng, where);
    if (recipe.format !== format) {
      throw new OverlayUnavailableError('OVERLAY_RECIPE_INVALID', `${where} was decided with ${recipe.format} overlays, not the ${format} the key ${ref.key} names: ask for the verdict's overlay key`);
    }
    const frameRef = { bucket: recipe.frame.bucket, key: recipe.frame.key };
    let frameBytes: Buffer;
    try {
      frameBytes = await this.objects.get(frameRef);
    } catch (err) {
      if (missing(err)) throw new OverlayUnavailableError('OVERLAY_FRAME_MISSING', `the frame s3://${frameRef.bucket}/${frameRef.key} of ${ref.key} no longer exists (expired?): its overlay cannot be rendered; the anomaly map is still there`, err);
      throw err;
    }
    if (recipe.frame.sha256 !== undefined && createHash('sha256').update(frameBytes).digest('hex') !== recipe.frame.sha256) {
      throw new OverlayUnavailableError('OVERLAY_FRAME_CHANGED', `the frame s3://${frameRef.bucket}/${frameRef.key} is not the one decided (its sha256 differs: overwritten): the overlay would not match the verdict`);
    }
    const rendered = await renderOverlayFromMap(frameBytes, mapPng, recipe, this.options);
    await this.objects.put(ref, rendered.body, rendered.contentType);
    return rendered;
  }
}
