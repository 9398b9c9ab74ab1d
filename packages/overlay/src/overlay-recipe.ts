import { crc32 } from 'node:zlib';
import { z } from 'zod';
import { LoomwatchError } from '@loomwatch/contracts';
import type { RegionBox } from './render.js';

/**
 * What rendering a frame's overlay needs beyond the frame and its stored anomaly map: the heat
 * scale (the pixel threshold and normalisation in force for the frame), the regions to outline,
 * the format, and where the frame is. The worker writes it into the anomaly map's PNG (a `tEXt`
 * chunk, see `withOverlayRecipe`), so an overlay can be rendered from the map alone — no model
 * registry, no verdict — by whoever is asked for it first (`overlay-on-request.ts`).
 *
 * Why the PNG and not S3 user metadata: a frame's regions (up to 256) do not fit the 2 KB S3
 * allows for all of an object's metadata, and the chunk travels with the bytes (a copy, a
 * download, another store).
 */
export const OverlayRecipe = z.strictObject({
  /** The recipe's own version. */
  v: z.literal(1),
  /** The frame the map was computed on, as stored; `sha256` when known (the frame event's), checked before rendering. */
  frame: z.strictObject({
    bucket: z.string().min(1),
    key: z.string().min(1),
    sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  }),
  /** How the frame was decoded (`inference.colour`): the renderer decodes it the same way. */
  colour: z.enum(['reject', 'convert']),
  /** The pixel threshold in force for the frame: 0.5 of the heat scale. */
  pixelThreshold: z.number().finite(),
  /** The normalisation in force for the frame: 0 and 1 of the heat scale. */
  normalization: z.strictObject({ min: z.number().finite(), max: z.number().finite() }),
  format: z.enum(['jpeg', 'png']),
  jpegQuality: z.int().min(1).max(100),
  pngCompressionLevel: z.int().min(0).max(9),
  /** The regions outlined, as `[x, y, width, height]`. */
  regions: z.array(z.tuple([z.int().nonnegative(), z.int().nonnegative(), z.int().positive(), z.int().positive()])).max(4096),
});
export type OverlayRecipe = z.infer<typeof OverlayRecipe>;

/** The parts of a recipe a decider knows (everything but the frame's place and the regions). */
export type OverlayStyleRecipe = Omit<OverlayRecipe, 'v' | 'frame' | 'regions'>;

/** Builds a recipe from a decider's style, the frame's place and the decision's regions. */
export function overlayRecipe(style: OverlayStyleRecipe, frame: OverlayRecipe['frame'], regions: readonly RegionBox[]): OverlayRecipe {
  return { v: 1, frame, ...style, regions: regions.map((r) => [r.x, r.y, r.width, r.height]) };
}

/** What renders an overlay once the frame and map are at hand: a recipe without the frame's place. */
export type OverlayLook = Omit<OverlayRecipe, 'v' | 'frame'>;

/** A decider's style with the decision's regions: how to render an overlay held in memory (no stored frame). */
export function overlayLook(style: OverlayStyleRecipe, regions: readonly RegionBox[]): OverlayLook {
  return { ...style, regions: regions.map((r) => [r.x, r.y, r.width, r.height]) };
}

/** The boxes the overlay outlines. */
export function recipeRegions(recipe: Pick<OverlayRecipe, 'regions'>): RegionBox[] {
  return recipe.regions.map(([x, y, width, height]) => ({ x, y, width, height }));
}

/** The `tEXt` keyword of the recipe chunk. */
export const RECIPE_KEYWORD = 'loomwatch:overlay';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const IHDR_END = 8 + 4 + 4 + 13 + 4;

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(data, crc32(Buffer.from(type, 'latin1'))) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** JSON with every non-ASCII character escaped (a `tEXt` chunk is Latin-1; keys may be UTF-8). */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The PNG with the recipe in a `tEXt` chunk right after its header (decoders skip it; the pixels are untouched). */
export function withOverlayRecipe(png: Buffer, recipe: OverlayRecipe): Buffer {
  if (png.length < IHDR_END || !png.subarray(0, 8).equals(PNG_SIGNATURE) || png.toString('latin1', 12, 16) !== 'IHDR') {
    throw new LoomwatchError('IMAGE_CORRUPT', 'the anomaly map is not a PNG with a header: it cannot carry an overlay recipe');
  }
  const text = Buffer.concat([Buffer.from(RECIPE_KEYWORD, 'latin1'), Buffer.from([0]), Buffer.from(asciiJson(recipe), 'latin1')]);
  return Buffer.concat([png.subarray(0, IHDR_END), chunk('tEXt', text), png.subarray(IHDR_END)]);
}

/** Why a map's recipe could not be read: none there (`missing`), or one that is not a valid recipe (`invalid`). */
export type RecipeProblem = { problem: 'missing' | 'invalid'; detail: string };

/** The recipe in a PNG's `tEXt` chunk, or what is wrong with it. Reads chunk headers only up to the recipe (or the end). */
export function readOverlayRecipe(png: Buffer): OverlayRecipe | RecipeProblem {
  if (png.length < IHDR_END || !png.subarray(0, 8).equals(PNG_SIGNATURE)) return { problem: 'invalid', detail: 'the object is not a PNG' };
  let at = 8;
  while (at + 12 <= png.length) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const end = at + 12 + length;
    if (end > png.length) return { problem: 'invalid', detail: `the PNG's ${type} chunk runs past its end` };
    if (type === 'IEND') break;
    if (type === 'tEXt') {
      const data = png.subarray(at + 8, at + 8 + length);
      const nul = data.indexOf(0);
      if (nul >= 0 && data.toString('latin1', 0, nul) === RECIPE_KEYWORD) {
        let json: unknown;
        try {
          json = JSON.parse(data.toString('latin1', nul + 1));
        } catch {
          return { problem: 'invalid', detail: 'its overlay recipe is not JSON' };
        }
        const parsed = OverlayRecipe.safeParse(json);
        if (!parsed.success) return { problem: 'invalid', detail: `its overlay recipe is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` };
        return parsed.data;
      }
    }
    at = end;
  }
  return { problem: 'missing', detail: 'the map has no overlay recipe (it was written before on-request overlays, or not by a worker)' };
}
