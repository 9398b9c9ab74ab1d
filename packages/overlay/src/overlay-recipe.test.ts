import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { overlayRecipe, readOverlayRecipe, recipeRegions, withOverlayRecipe, type OverlayRecipe } from './overlay-recipe.js';

const STYLE = { colour: 'reject', pixelThreshold: 0.42, normalization: { min: 0.1, max: 0.9 }, format: 'jpeg', jpegQuality: 85, pngCompressionLevel: 1 } as const;

function recipe(key = 'frames/line-1/cam-1/1.png'): OverlayRecipe {
  return overlayRecipe(STYLE, { bucket: 'loomwatch-frames', key, sha256: 'a'.repeat(64) }, [{ x: 1, y: 2, width: 3, height: 4 }]);
}

async function mapPng(): Promise<Buffer> {
  const levels = Uint8Array.from({ length: 40 * 30 }, (_, i) => Math.round(((i % 40) / 39) * 255));
  return sharp(levels, { raw: { width: 40, height: 30, channels: 1 } }).toColourspace('b-w').png().toBuffer();
}

describe('overlay recipe in the anomaly map', () => {
  it('reads back what was written, and leaves the PNG decoding to the same pixels', async () => {
    const png = await mapPng();
    const withRecipe = withOverlayRecipe(png, recipe());
    expect(readOverlayRecipe(withRecipe)).toEqual(recipe());
    expect(recipeRegions(recipe())).toEqual([{ x: 1, y: 2, width: 3, height: 4 }]);
    const [plain, carried] = await Promise.all([png, withRecipe].map((b) => sharp(b).extractChannel(0).raw().toBuffer()));
    expect(carried?.equals(plain ?? Buffer.alloc(0))).toBe(true);
  });

  it('carries a frame key with non-ASCII characters', async () => {
    const key = 'frames/línea-1/cam-ü/1.png';
    expect(readOverlayRecipe(withOverlayRecipe(await mapPng(), recipe(key)))).toMatchObject({ frame: { key } });
  });

  it('says "missing" for a map without a recipe and "invalid" for one that is not a PNG or not a recipe', async () => {
    expect(readOverlayRecipe(await mapPng())).toMatchObject({ problem: 'missing' });
    expect(readOverlayRecipe(Buffer.from('not a png at all, not at all'))).toMatchObject({ problem: 'invalid' });
    const bad = withOverlayRecipe(await mapPng(), { ...recipe(), pixelThreshold: Number.NaN });
    expect(readOverlayRecipe(bad)).toMatchObject({ problem: 'invalid', detail: expect.stringContaining('pixelThreshold') });
    const truncated = withOverlayRecipe(await mapPng(), recipe()).subarray(0, 60);
    expect(readOverlayRecipe(truncated)).toMatchObject({ problem: 'invalid' });
  });

  it('refuses to write into something that is not a PNG', () => {
    expect(() => withOverlayRecipe(Buffer.from('map'), recipe())).toThrow(expect.objectContaining({ code: 'IMAGE_CORRUPT' }));
  });
});
