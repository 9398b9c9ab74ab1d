import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { copyRandomModel, RANDOM_MODEL_DIR } from '@loomwatch/model-registry/fixtures';
import { stampOpset } from './fixtures.js';
import { loadOnnxModel } from './load.js';
import { onnxOpset } from './onnx-file.js';
import type { SessionConfig } from './onnx-model.js';

const session: SessionConfig = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionProviders: ['cpu'] };
const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));

function registry(options: Parameters<typeof copyRandomModel>[0] = {}): ReturnType<typeof copyRandomModel> {
  const copy = copyRandomModel(options);
  cleanups.push(copy.cleanup);
  return copy;
}

describe('onnxOpset', () => {
  it('reads the opset stamped in the random model, as its card states', () => {
    const card = JSON.parse(readFileSync(join(RANDOM_MODEL_DIR, 'model.json'), 'utf8')) as { onnx: { opset: number } };
    expect(onnxOpset(readFileSync(join(RANDOM_MODEL_DIR, 'model.onnx')))).toBe(card.onnx.opset);
  });

  it('returns undefined for bytes that are not an ONNX model', () => {
    expect(onnxOpset(Buffer.from('definitely not protobuf \xff\xff\xff'))).toBeUndefined();
  });
});

describe('loadOnnxModel', () => {
  it('loads the random model by name and runs a tile', async () => {
    const { root } = registry();
    const loaded = await loadOnnxModel('draem-random', { registryRoot: root, ...session });
    const out = await loaded.model.run(new Float32Array(256 * 256).fill(0.5), 1);
    expect(out).toHaveLength(256 * 256);
    expect(out.every((v) => v >= 0 && v <= 1)).toBe(true);
    await loaded.model.close();
  });

  it('leaves the calling thread free while the model runs (regression: onnxruntime-node run blocks the thread that calls it)', async () => {
    const { root } = registry();
    const loaded = await loadOnnxModel('draem-random', { registryRoot: root, ...session });
    const order: string[] = [];
    const run = loaded.model.run(new Float32Array(4 * 256 * 256).fill(0.5), 4).then(() => order.push('run settled'));
    await new Promise<void>((resolve) => setImmediate(() => resolve(void order.push('event loop turned'))));
    await run;
    expect(order).toEqual(['event loop turned', 'run settled']);
    await loaded.model.close();
  });

  it('writes results into the caller’s shared output buffer, equal to a fresh result', async () => {
    const { root } = registry();
    const loaded = await loadOnnxModel('draem-random', { registryRoot: root, ...session });
    const batch = new Float32Array(new SharedArrayBuffer(2 * 65536 * 4)).map((_, i) => (i % 251) / 250);
    const into = new Float32Array(new SharedArrayBuffer(3 * 65536 * 4));
    const fresh = await loaded.model.run(batch, 2);
    const written = await loaded.model.run(batch, 2, into);
    expect(written.buffer).toBe(into.buffer);
    expect(Array.from(written)).toEqual(Array.from(fresh));
    await expect(loaded.model.run(batch, 2, new Float32Array(10))).rejects.toMatchObject({ code: 'MODEL_RUN_FAILED' });
    await loaded.model.close();
  });

  it('refuses an ONNX file whose checksum differs from the card', async () => {
    const { root } = registry({ patchOnnx: (bytes) => void (bytes[100] = (bytes[100] ?? 0) ^ 0xff), keepChecksum: true });
    await expect(loadOnnxModel('draem-random', { registryRoot: root, ...session })).rejects.toMatchObject({
      code: 'MODEL_CHECKSUM_MISMATCH',
      message: expect.stringContaining('re-export or re-download') as unknown,
    });
  });

  it('reports a missing ONNX file as MODEL_NOT_FOUND', async () => {
    const { root, dir } = registry();
    rmSync(join(dir, 'model.onnx'));
    await expect(loadOnnxModel('draem-random', { registryRoot: root, ...session })).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });

  it('refuses a model stamped with an opset this onnxruntime does not run', async () => {
    const { root } = registry({ patchOnnx: (bytes) => stampOpset(bytes, 99), patchCard: (card) => ((card.onnx as { opset: number }).opset = 99) });
    await expect(loadOnnxModel('draem-random', { registryRoot: root, ...session })).rejects.toMatchObject({ code: 'MODEL_OPSET_UNSUPPORTED' });
  });

  it('refuses a card whose opset disagrees with the file', async () => {
    const { root } = registry({ patchCard: (card) => ((card.onnx as { opset: number }).opset = 18) });
    await expect(loadOnnxModel('draem-random', { registryRoot: root, ...session })).rejects.toMatchObject({ code: 'MODEL_CARD_INVALID' });
  });

  it('refuses a card that describes another tile size, input name or channel count', async () => {
    const cases: ((card: Record<string, unknown>) => void)[] = [
      (card) => ((card.input as { tileSize: number }).tileSize = 128),
      (card) => ((card.input as { name: string }).name = 'pixels'),
      (card) => ((card.output as { name: string }).name = 'mask'),
      (card) => Object.assign(card.output as object, { channels: 2, anomalyChannel: 1 }),
    ];
    for (const patchCard of cases) {
      const { root } = registry({ patchCard });
      await expect(loadOnnxModel('draem-random', { registryRoot: root, ...session })).rejects.toMatchObject({ code: 'MODEL_SHAPE_MISMATCH' });
    }
  });
});
