import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { beforeEach, describe, expect, it } from 'vitest';
import { LoomwatchError, type ObjectRef } from '@loomwatch/contracts';
import { OverlayRenderer, mapOfOverlay, resultKeys, type OverlayObjects } from './overlay-on-request.js';
import { overlayRecipe, withOverlayRecipe } from './overlay-recipe.js';
import { encodeOverlayFromGray8 } from './render.js';

const WIDTH = 96;
const HEIGHT = 32;
const STYLE = { colour: 'reject', pixelThreshold: 0.4, normalization: { min: 0.05, max: 0.95 }, format: 'jpeg', jpegQuality: 85, pngCompressionLevel: 1 } as const;
const REGIONS = [{ x: 10, y: 4, width: 20, height: 10, area: 200, maxScore: 1, meanScore: 0.8 }];
const FRAME_REF = { bucket: 'frames', key: 'frames/line-1/cam-1/1.png' };
const KEYS = resultKeys('draem/1.0.0/line-1/cam-1/f1', 'jpeg');
const OVERLAY = { bucket: 'results', key: KEYS.overlay };

/** Objects in a map, counting reads: the renderer's store port. */
class Objects implements OverlayObjects {
  readonly items = new Map<string, Buffer>();
  gets = 0;
  puts = 0;
  get(ref: ObjectRef): Promise<Buffer> {
    this.gets++;
    const found = this.items.get(`${ref.bucket}/${ref.key}`);
    return found === undefined ? Promise.reject(new LoomwatchError('OBJECT_NOT_FOUND', `no ${ref.key}`)) : Promise.resolve(found);
  }
  put(ref: ObjectRef, body: Buffer): Promise<void> {
    this.puts++;
    this.items.set(`${ref.bucket}/${ref.key}`, body);
    return Promise.resolve();
  }
}

const grey = Uint8Array.from({ length: WIDTH * HEIGHT }, (_, i) => (i * 7) % 256);
/** The anomaly map's 8-bit levels, as the worker stores them (`mapToGray8` of `@loomwatch/inference`). */
const map8 = Uint8Array.from({ length: WIDTH * HEIGHT }, (_, i) => Math.round(255 * ((i % WIDTH) / WIDTH) * ((Math.floor(i / WIDTH) + 1) / HEIGHT)));

/** 8-bit levels as a greyscale PNG, as the worker stores an anomaly map (`encodeMapPng`). */
function greyPng(levels: Uint8Array, width: number, height: number): Promise<Buffer> {
  return sharp(levels, { raw: { width, height, channels: 1 } }).toColourspace('b-w').png().toBuffer();
}

describe('OverlayRenderer', () => {
  let objects: Objects;
  let frameBytes: Buffer;

  beforeEach(async () => {
    objects = new Objects();
    frameBytes = await sharp(grey, { raw: { width: WIDTH, height: HEIGHT, channels: 1 } }).toColourspace('b-w').png().toBuffer();
    const sha256 = createHash('sha256').update(frameBytes).digest('hex');
    const png = withOverlayRecipe(await greyPng(map8, WIDTH, HEIGHT), overlayRecipe(STYLE, { ...FRAME_REF, sha256 }, REGIONS));
    await objects.put(FRAME_REF, frameBytes);
    await objects.put({ bucket: 'results', key: KEYS.anomalyMap }, png);
  });

  it('renders the overlay the worker renders per frame, and stores it at the overlay key', async () => {
    const rendered = await new OverlayRenderer(objects).render(OVERLAY);
    const perFrame = await encodeOverlayFromGray8({ width: WIDTH, height: HEIGHT, data: grey }, map8, REGIONS, STYLE, STYLE);
    expect(rendered.contentType).toBe('image/jpeg');
    expect(rendered.body.equals(perFrame)).toBe(true);
    expect(objects.items.get(`results/${KEYS.overlay}`)?.equals(perFrame)).toBe(true);
  });

  it('renders once for concurrent requests of one overlay in this process', async () => {
    const renderer = new OverlayRenderer(objects);
    objects.gets = objects.puts = 0;
    const [a, b, c] = await Promise.all([renderer.render(OVERLAY), renderer.render(OVERLAY), renderer.render(OVERLAY)]);
    expect(a?.body.equals(b?.body ?? Buffer.alloc(0)) && a.body.equals(c?.body ?? Buffer.alloc(0))).toBe(true);
    expect([objects.gets, objects.puts, renderer.rendering]).toEqual([2, 1, 0]);
  });

  it('finds the map beside an overlay key, and refuses a key that is not an overlay', () => {
    expect(mapOfOverlay(OVERLAY)).toEqual({ map: { bucket: 'results', key: KEYS.anomalyMap }, format: 'jpeg' });
    expect(() => mapOfOverlay({ bucket: 'results', key: 'maps/x.png' })).toThrow(expect.objectContaining({ code: 'OBJECT_KEY_INVALID', problem: 'OVERLAY_KEY_INVALID' }));
  });

  it.each([
    ['the map is missing', (o: Objects) => o.items.delete(`results/${KEYS.anomalyMap}`), 'OVERLAY_MAP_MISSING', 'OBJECT_NOT_FOUND'],
    ['the frame is missing', (o: Objects) => o.items.delete(`frames/${FRAME_REF.key}`), 'OVERLAY_FRAME_MISSING', 'OBJECT_NOT_FOUND'],
    ['the frame was overwritten', (o: Objects) => o.items.set(`frames/${FRAME_REF.key}`, Buffer.from('other')), 'OVERLAY_FRAME_CHANGED', 'IMAGE_CHECKSUM_MISMATCH'],
    ['the map has no recipe', (o: Objects) => o.items.set(`results/${KEYS.anomalyMap}`, Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108000000003a7e9b550000000049454e44ae426082', 'hex')), 'OVERLAY_RECIPE_MISSING', 'OBJECT_NOT_FOUND'],
    ['the map is not a PNG', (o: Objects) => o.items.set(`results/${KEYS.anomalyMap}`, Buffer.from('garbage')), 'OVERLAY_RECIPE_INVALID', 'IMAGE_CORRUPT'],
  ])('refuses with a typed error when %s, and stores nothing', async (_, breakIt, problem, code) => {
    breakIt(objects);
    await expect(new OverlayRenderer(objects).render(OVERLAY)).rejects.toMatchObject({ problem, code, retryable: false });
    expect(objects.items.has(`results/${KEYS.overlay}`)).toBe(false);
  });

  it('refuses a PNG key for a map decided with JPEG overlays', async () => {
    const png = { bucket: 'results', key: KEYS.overlay.replace(/\.jpg$/, '.png') };
    await expect(new OverlayRenderer(objects).render(png)).rejects.toMatchObject({ problem: 'OVERLAY_RECIPE_INVALID' });
  });

  it('refuses a map of another size than its frame', async () => {
    const png = withOverlayRecipe(await greyPng(new Uint8Array(8 * 4), 8, 4), overlayRecipe(STYLE, FRAME_REF, []));
    objects.items.set(`results/${KEYS.anomalyMap}`, png);
    await expect(new OverlayRenderer(objects).render(OVERLAY)).rejects.toMatchObject({ problem: 'OVERLAY_RECIPE_INVALID', message: expect.stringContaining('8×4') });
  });
});
