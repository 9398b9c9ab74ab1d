import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoomwatchError } from '@loomwatch/contracts';
import { RANDOM_MODEL } from '@loomwatch/model-registry/fixtures';
import { normalizeScore, type GrayImage } from '@loomwatch/overlay';
import { aitexDir } from '@loomwatch/testkit';
import { maxOf, meanFilter } from './core/smoothing.js';
import { EngineDecider } from './decider.js';
import { InferenceEngine } from './engine.js';
import { mapToGray8 } from './image/render.js';
import type { Model } from './model/model.js';

const FRAME = join(aitexDir(), 'defect/0001_002_00.png');

function crop(image: GrayImage, x0: number, y0: number, width: number, height: number): GrayImage {
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) data.set(image.data.subarray((y0 + y) * image.width + x0, (y0 + y) * image.width + x0 + width), y * width);
  return { data, width, height };
}

function cropMap(map: Float32Array, mapWidth: number, x0: number, y0: number, width: number, height: number): Float32Array {
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) out.set(map.subarray((y0 + y) * mapWidth + x0, (y0 + y) * mapWidth + x0 + width), y * width);
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return max;
}

describe('InferenceEngine with the random DRAEM', { timeout: 120_000 }, () => {
  let engine: InferenceEngine;
  let frame: GrayImage;
  // Textured fabric, right of the blank margin this AITEX frame starts with.
  let fabric: GrayImage;

  beforeAll(async () => {
    engine = await InferenceEngine.load({ model: RANDOM_MODEL, intraOpNumThreads: 2 });
    frame = await engine.decode(readFileSync(FRAME));
    fabric = crop(frame, 1536, 0, 1024, 256);
  }, 120_000);
  afterAll(() => engine.close());

  it('infers a 4096×256 AITEX frame into a full-resolution map, a score, a verdict and regions', async () => {
    const bytes = readFileSync(FRAME);
    const startedAt = performance.now();
    const result = await engine.infer(bytes, 'frame');
    const wallMs = performance.now() - startedAt;
    const { postprocess } = engine.card;
    expect([result.width, result.height, result.map.length]).toEqual([4096, 256, 4096 * 256]);
    expect(result.map.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(result.score).toBeCloseTo(maxOf(meanFilter(result.map, 4096, 256, postprocess.smoothingKernel)), 6);
    expect(result.threshold).toBe(postprocess.imageThreshold);
    expect(result.verdict).toBe(result.score >= postprocess.imageThreshold ? 'defect' : 'ok');
    expect(result.normalizedScore).toBe(normalizeScore(result.score, postprocess.imageThreshold, postprocess.normalization));
    // The pixel threshold in force never exceeds the image threshold: a defect always has a region.
    expect(result.calibration.pixelThreshold).toBe(Math.min(postprocess.pixelThreshold, postprocess.imageThreshold));
    for (const region of result.regions) {
      expect(region.maxScore).toBeGreaterThanOrEqual(result.calibration.pixelThreshold);
      expect(region.meanScore).toBeGreaterThanOrEqual(result.calibration.pixelThreshold);
      expect(region.area).toBeGreaterThanOrEqual(engine.config.minRegionArea);
      expect(region.x + region.width).toBeLessThanOrEqual(4096);
    }
    const maxima = result.regions.map((r) => r.maxScore);
    expect(maxima).toEqual([...maxima].sort((a, b) => b - a));
    expect(result.inputStats.histogram.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect(result.model).toEqual({ name: 'draem-random', version: '0.0.1', sha256: engine.card.onnx.sha256 });
    // The timings are this call's clock: the phases run one after another and fit in the total
    // (each rounded to 0.01 ms), the total in the wall time around the call, and the model run on
    // 16 tiles takes measurable time.
    const { decodeMs, inferMs, postMs, totalMs } = result.timings;
    expect(Math.min(decodeMs, postMs)).toBeGreaterThanOrEqual(0);
    expect(inferMs).toBeGreaterThanOrEqual(0.1);
    expect(decodeMs + inferMs + postMs).toBeLessThanOrEqual(totalMs + 0.02);
    expect(totalMs).toBeLessThanOrEqual(wallMs + 0.01);
  });

  it('puts each tile’s output back where the tile came from', async () => {
    const whole = await engine.infer(fabric);
    const tile = await engine.infer(crop(fabric, 512, 0, 256, 256));
    expect(maxAbsDiff(tile.map, cropMap(whole.map, 1024, 512, 0, 256, 256))).toBeLessThan(1e-5);
  });

  it('gives the same map whatever the batch size', async () => {
    const small = InferenceEngine.create(engine.loaded, { maxBatch: 3 });
    expect(maxAbsDiff((await small.infer(fabric)).map, (await engine.infer(fabric)).map)).toBeLessThan(1e-5);
  });

  it('pads a frame whose sides are not tile multiples and crops the map back to the frame', async () => {
    const odd = crop(fabric, 0, 0, 300, 256);
    const result = await engine.infer(odd);
    expect(result.map.length).toBe(300 * 256);
    expect(result.map.every((v) => v >= 0 && v <= 1)).toBe(true);
    const first = await engine.infer(crop(fabric, 0, 0, 256, 256));
    expect(maxAbsDiff(cropMap(result.map, 300, 0, 0, 256, 256), first.map)).toBeLessThan(1e-5);
  });

  it('averages overlapping tiles, leaving columns covered by one tile as they were', async () => {
    const part = crop(fabric, 0, 0, 512, 256);
    const overlapping = await InferenceEngine.create(engine.loaded, { stride: 128 }).infer(part);
    const plain = await engine.infer(part);
    expect(maxAbsDiff(cropMap(overlapping.map, 512, 0, 0, 128, 256), cropMap(plain.map, 512, 0, 0, 128, 256))).toBeLessThan(1e-5);
    // Column 200 is covered by the tiles at x = 0 and x = 128: the mean of the two.
    const t0 = await engine.infer(crop(part, 0, 0, 256, 256));
    const t1 = await engine.infer(crop(part, 128, 0, 256, 256));
    const y = 100;
    expect(overlapping.map[y * 512 + 200]).toBeCloseTo(((t0.map[y * 256 + 200] ?? 0) + (t1.map[y * 256 + 72] ?? 0)) / 2, 5);
  });

  it('scores frames of the same pixel count but another shape with work buffers of their own shape', async () => {
    // 512 × 512 (two 512 × 256 strips stacked) and 1024 × 256 hold as many pixels; a buffer sized
    // for one shape's width or height is too short for the other's.
    const square: GrayImage = { data: new Uint8Array(512 * 512), width: 512, height: 512 };
    square.data.set(crop(fabric, 0, 0, 512, 256).data);
    square.data.set(crop(fabric, 512, 0, 512, 256).data, 512 * 256);
    const k = engine.card.postprocess.smoothingKernel;
    const shapes = InferenceEngine.create(engine.loaded);
    for (const image of [square, fabric, square]) {
      const result = await shapes.infer(image);
      expect(result.score).toBeCloseTo(maxOf(meanFilter(result.map, image.width, image.height, k)), 6);
    }
  });

  it('returns the same results for frames in flight together as one at a time', async () => {
    const a = crop(frame, 2048, 0, 512, 256);
    const b = crop(frame, 2560, 0, 512, 256);
    const [ra, rb] = await Promise.all([engine.infer(a), engine.infer(b)]);
    expect(maxAbsDiff(ra.map, (await engine.infer(a)).map)).toBeLessThan(1e-5);
    expect(maxAbsDiff(rb.map, (await engine.infer(b)).map)).toBeLessThan(1e-5);
  });

  it('reports a failing model run as MODEL_RUN_FAILED, with a later batch still in flight, and goes on with the next frame', async () => {
    let calls = 0;
    const flaky: Model = {
      run: (batch, n, output) => {
        calls++;
        return calls === 1 ? Promise.reject(new LoomwatchError('MODEL_RUN_FAILED', 'injected failure')) : engine.loaded.model.run(batch, n, output);
      },
      close: () => Promise.resolve(),
      usable: true,
    };
    const oneTileBatches = InferenceEngine.create({ ...engine.loaded, model: flaky }, { maxBatch: 1 });
    const part = crop(fabric, 0, 0, 512, 256);
    await expect(oneTileBatches.infer(part)).rejects.toMatchObject({ code: 'MODEL_RUN_FAILED' });
    const next = await oneTileBatches.infer(part);
    expect(maxAbsDiff(next.map, (await engine.infer(part)).map)).toBeLessThan(1e-5);
  });

  it('refuses a decoded frame whose buffer does not match its size, or that is smaller than a tile', async () => {
    await expect(engine.infer({ data: new Uint8Array(100), width: 256, height: 256 })).rejects.toMatchObject({ code: 'IMAGE_DIMENSIONS_MISMATCH' });
    await expect(engine.infer({ data: new Uint8Array(256 * 100), width: 256, height: 100 })).rejects.toMatchObject({ code: 'IMAGE_TOO_SMALL' });
  });

  it('refuses a stride larger than the tile and invalid options as CONFIG_INVALID', () => {
    expect(() => InferenceEngine.create(engine.loaded, { stride: 300 })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => InferenceEngine.create(engine.loaded, { maxBatch: 0 })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('inference.maxBatch') as unknown }));
  });

  it('judges a frame at the false-alarm rate asked for when the card has operating points, at its default 0.05 otherwise', async () => {
    const { postprocess } = engine.card;
    const observed = { falseAlarms: 0, frames: 100, low: 0, high: 0.036 };
    const operatingPoints = {
      frames: 100,
      source: 'test',
      points: [
        { falseAlarmRate: 0.01, imageThreshold: 0.999, observed },
        { falseAlarmRate: 0.05, imageThreshold: postprocess.imageThreshold, observed },
        { falseAlarmRate: 0.2, imageThreshold: 1e-6, observed },
      ],
    };
    const calibrated = InferenceEngine.create({ ...engine.loaded, card: { ...engine.card, postprocess: { ...postprocess, operatingPoints } } });
    const [strict, lenient, usual] = await Promise.all([calibrated.infer(fabric, 'fabric', undefined, 0.01), calibrated.infer(fabric, 'fabric', undefined, 0.2), calibrated.infer(fabric)]);
    expect(strict).toMatchObject({ threshold: 0.999, verdict: 'ok', calibration: { falseAlarmRate: 0.01, imageThreshold: 0.999 } });
    expect(lenient).toMatchObject({ threshold: 1e-6, verdict: 'defect', normalizedScore: normalizeScore(lenient.score, 1e-6, postprocess.normalization), calibration: { falseAlarmRate: 0.2, pixelThreshold: 1e-6 } });
    expect(lenient.regions.length).toBeGreaterThan(0);
    expect(usual).toMatchObject({ threshold: postprocess.imageThreshold, calibration: { falseAlarmRate: 0.05 } });
    expect((await engine.infer(fabric, 'fabric', undefined, 0.01)).calibration).toMatchObject({ falseAlarmRate: null, imageThreshold: postprocess.imageThreshold });
  });

  it('renders the map and the overlay at the frame resolution', async () => {
    const result = await engine.infer(fabric);
    const sharp = (await import('sharp')).default;
    const map = await sharp(await engine.renderAnomalyMapPng(result)).metadata();
    const overlay = await sharp(await engine.renderOverlay(result, { format: 'jpeg' })).metadata();
    expect([map.width, map.height, map.channels]).toEqual([1024, 256, 1]);
    expect([overlay.format, overlay.width, overlay.height]).toEqual(['jpeg', 1024, 256]);
  });

  it('stitches the next frame of a size into a released map, and never into one still held', async () => {
    const pooled = InferenceEngine.create(engine.loaded);
    const a = crop(fabric, 0, 0, 512, 256);
    const b = crop(fabric, 512, 0, 512, 256);
    const held = await pooled.infer(a);
    const heldBefore = held.map.slice();
    const released = await pooled.infer(b);
    const releasedMap = released.map;
    const alias = { ...released };
    pooled.release(released);
    pooled.release(alias); // the same map again: ignored, or two frames would share it
    pooled.release({ ...held, map: new Float32Array(512 * 256) }); // a map it never lent: not taken
    expect(released.map).toHaveLength(0);
    const next = await pooled.infer(a);
    const fresh = await pooled.infer(b);
    // Identity, not toBe: a failing toBe would print two 131,072-value arrays.
    expect(next.map === releasedMap).toBe(true); // the one map handed back, handed out once
    expect(fresh.map === releasedMap || fresh.map === held.map).toBe(false);
    // What reuse must not change: a frame's map, whatever buffer it was stitched into; and a held map.
    expect(maxAbsDiff(next.map, heldBefore)).toBe(0);
    expect(maxAbsDiff(held.map, heldBefore)).toBe(0);
  });

  it('the decider hands each map back once its PNG is encoded, and decisions in flight together keep their own maps', async () => {
    const inner = InferenceEngine.create(engine.loaded);
    const handedBack: Float32Array[] = [];
    const release = inner.release.bind(inner);
    inner.release = (result) => {
      handedBack.push(result.map);
      release(result);
    };
    const decider = EngineDecider.create(inner, { overlays: 'on-request' });
    const sharp = (await import('sharp')).default;
    const parts = [crop(fabric, 0, 0, 512, 256), crop(fabric, 512, 0, 512, 256), crop(fabric, 256, 0, 512, 256)];
    const encoded = await Promise.all(parts.map((p) => sharp(p.data, { raw: { width: p.width, height: p.height, channels: 1 } }).toColourspace('b-w').png().toBuffer()));
    const decisions = [...(await Promise.all(encoded.slice(0, 2).map((bytes) => decider.decide(bytes)))), await decider.decide(encoded[2] ?? Buffer.alloc(0))];
    expect(handedBack).toHaveLength(3);
    expect(handedBack.every((map) => map.length === 512 * 256)).toBe(true);
    expect(handedBack[2] === handedBack[0] || handedBack[2] === handedBack[1]).toBe(true); // the third frame reused a map
    for (const [i, decision] of decisions.entries()) {
      const alone = await engine.infer(parts[i] ?? fabric);
      const stored = await sharp(decision.anomalyMapPng).extractChannel(0).raw().toBuffer();
      expect(stored.equals(Buffer.from(mapToGray8(alone.map)))).toBe(true);
      expect(decision.score).toBe(alone.score);
    }
  });
});
