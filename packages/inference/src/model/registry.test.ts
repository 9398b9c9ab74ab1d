import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { copyRandomModel } from './fixtures.js';
import { readModelCard, resolveModel } from './registry.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));

function registry(options: Parameters<typeof copyRandomModel>[0] = {}): ReturnType<typeof copyRandomModel> {
  const copy = copyRandomModel(options);
  cleanups.push(copy.cleanup);
  return copy;
}

describe('resolveModel', () => {
  it('resolves a bare name to the version production.json marks', async () => {
    const { root, dir } = registry();
    expect(await resolveModel('draem-random', root)).toEqual({ dir, expected: { name: 'draem-random', version: '0.0.1' } });
  });

  it('resolves name@version inside the registry', async () => {
    const { root, dir } = registry({ production: false });
    expect((await resolveModel('draem-random@0.0.1', root)).dir).toBe(dir);
  });

  it('accepts a version directory or a model directory given as a path', async () => {
    const { root, dir } = registry();
    expect((await resolveModel(dir, '/nonexistent')).dir).toBe(dir);
    expect((await resolveModel(join(root, 'draem-random'), '/nonexistent')).dir).toBe(dir);
  });

  it('reports an unknown model, a missing version and a missing production marker as MODEL_NOT_FOUND', async () => {
    const { root } = registry({ production: false });
    await expect(resolveModel('nope', root)).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND', message: expect.stringContaining('draem-random') as unknown });
    await expect(resolveModel('draem-random@9.9.9', root)).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND', message: expect.stringContaining('0.0.1') as unknown });
    await expect(resolveModel('draem-random', root)).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND', message: expect.stringContaining('draem-random@<version>') as unknown });
    await expect(resolveModel('./no/such/dir', root)).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });

  it('rejects a production marker that is not valid', async () => {
    const { root } = registry();
    writeFileSync(join(root, 'draem-random', 'production.json'), '{"version": 1}');
    await expect(resolveModel('draem-random', root)).rejects.toMatchObject({ code: 'MODEL_CARD_INVALID' });
  });
});

describe('readModelCard', () => {
  it('reads the random model card exported by the model pipeline', async () => {
    const { dir } = registry();
    const card = await readModelCard({ dir });
    expect(card).toMatchObject({ name: 'draem-random', input: { tileSize: 256, channels: 1 }, postprocess: { smoothingKernel: 21 } });
  });

  it('names the offending fields of an invalid card', async () => {
    const { dir } = registry({
      patchCard: (card) => {
        (card.postprocess as Record<string, unknown>).smoothingKernel = 4;
        delete card.flopsPerTile;
      },
    });
    await expect(readModelCard({ dir })).rejects.toMatchObject({
      code: 'MODEL_CARD_INVALID',
      message: expect.stringMatching(/postprocess\.smoothingKernel.*flopsPerTile|flopsPerTile.*postprocess\.smoothingKernel/) as unknown,
    });
  });

  it('rejects a card that is not JSON', async () => {
    const { dir } = registry();
    writeFileSync(join(dir, 'model.json'), '{ nope');
    await expect(readModelCard({ dir })).rejects.toMatchObject({ code: 'MODEL_CARD_INVALID' });
  });

  it('rejects a card whose name or version disagrees with its registry directory', async () => {
    const { dir } = registry({ patchCard: (card) => (card.version = '0.0.2') });
    await expect(readModelCard({ dir, expected: { name: 'draem-random', version: '0.0.1' } })).rejects.toMatchObject({ code: 'MODEL_CARD_INVALID' });
  });

  it('rejects a normalization range that does not contain the image threshold', async () => {
    const { dir } = registry({ patchCard: (card) => ((card.postprocess as { imageThreshold: number }).imageThreshold = 0.999) });
    await expect(readModelCard({ dir })).rejects.toMatchObject({ code: 'MODEL_CARD_INVALID', message: expect.stringContaining('normalization') as unknown });
  });

  it('reports a version directory without a card as MODEL_NOT_FOUND', async () => {
    const { root } = registry();
    const empty = join(root, 'empty');
    mkdirSync(empty);
    await expect(readModelCard({ dir: empty })).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });
});
