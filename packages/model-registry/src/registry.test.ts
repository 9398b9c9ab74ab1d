import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { copyRandomModel } from './fixtures.js';
import { defaultModel, deployedVersion, productionMarker, readModelCard, registryModels, resolveModel } from './registry.js';

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

  it('accepts a version directory or a model directory named as one', async () => {
    const { root, dir } = registry();
    expect((await resolveModel({ dir }, '/nonexistent')).dir).toBe(dir);
    expect((await resolveModel({ dir: join(root, 'draem-random') }, '/nonexistent')).dir).toBe(dir);
    await expect(resolveModel({ dir: join(root, 'no-such-dir') }, root)).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });

  it('never reads a string as a path: a traversal, a path or an encoded one is MODEL_NOT_FOUND before the registry is read', async () => {
    const { root, dir } = registry();
    // A card planted where "draem-random@.." or ".." would reach it.
    writeFileSync(join(root, 'model.json'), readFileSync(join(dir, 'model.json')));
    for (const ref of ['draem-random@..', '..', '.', dir, './draem-random/0.0.1', 'draem-random/0.0.1', 'draem-random@0.0.1/..', '..\\x', '%2e%2e', 'draem-random@%2e%2e', 'Draem-random']) {
      await expect(resolveModel(ref, join(root, 'draem-random')), ref).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND', message: expect.stringContaining('is not a model reference') as unknown });
    }
  });

  it('refuses a production marker that names no version (a path)', async () => {
    const { root } = registry();
    writeFileSync(join(root, 'draem-random', 'production.json'), JSON.stringify({ version: '..', promotedAt: '2026-01-01T00:00:00Z' }));
    await expect(resolveModel('draem-random', root)).rejects.toMatchObject({ code: 'MODEL_CARD_INVALID', message: expect.stringContaining('not a version') as unknown });
  });

  it('reports an unknown model, a missing version and a missing production marker as MODEL_NOT_FOUND', async () => {
    const { root } = registry({ production: false });
    await expect(resolveModel('nope', root)).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND', message: expect.stringContaining('draem-random') as unknown });
    await expect(resolveModel('draem-random@9.9.9', root)).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND', message: expect.stringContaining('0.0.1') as unknown });
    await expect(resolveModel('draem-random', root)).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND', message: expect.stringContaining('draem-random@<version>') as unknown });
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

  it('reads a card of the patchcore family and names a missing field of it', async () => {
    const patchcore = { family: 'patchcore', backbone: 'efficientnet-lite0', blocks: [4, 10], featureDims: 152, bankSize: 15073, coresetRatio: 0.01 };
    const { dir } = registry({ patchCard: (card) => (card.architecture = patchcore) });
    expect((await readModelCard({ dir })).architecture).toEqual(patchcore);
    const { dir: broken } = registry({ patchCard: (card) => (card.architecture = { ...patchcore, bankSize: undefined }) });
    await expect(readModelCard({ dir: broken })).rejects.toMatchObject({ code: 'MODEL_CARD_INVALID', message: expect.stringContaining('architecture.bankSize') as unknown });
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

  it('rejects a card that routes by its image input', async () => {
    const { dir } = registry({ patchCard: (card) => (card.routing = { input: 'image', fabrics: { '00': 0 }, fallback: 1 }) });
    await expect(readModelCard({ dir })).rejects.toMatchObject({ code: 'MODEL_CARD_INVALID', message: expect.stringContaining('both its image input and its routing input') as unknown });
  });

  it('reports a version directory without a card as MODEL_NOT_FOUND', async () => {
    const { root } = registry();
    const empty = join(root, 'empty');
    mkdirSync(empty);
    await expect(readModelCard({ dir: empty })).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });
});

describe('productionMarker', () => {
  it('reads the marker the gate wrote, none for a model without one, and refuses what is no model name', async () => {
    const { root } = registry();
    expect(await productionMarker('draem-random', root)).toEqual({ version: '0.0.1', promotedAt: '2026-01-01T00:00:00Z' });
    expect(await productionMarker('no-such-model', root)).toBeUndefined();
    await expect(productionMarker('..', root)).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    await expect(productionMarker('draem-random@0.0.1', root)).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });
});

describe('defaultModel', () => {
  it('picks the production model with the highest validation image AUROC, whatever its family', async () => {
    const { root } = registry({ patchCard: (card) => (card.metrics = { imageAuroc: 0.7, pixelAuroc: 0.7, detectionRate: 0.1, falseAlarmRate: 0.05 }) });
    expect(await defaultModel(root)).toEqual({ name: 'draem-random', version: '0.0.1', imageAuroc: 0.7 });
    const better = join(root, 'zz-better');
    cpSync(join(root, 'draem-random'), better, { recursive: true });
    const cardPath = join(better, '0.0.1', 'model.json');
    const card = JSON.parse(readFileSync(cardPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(cardPath, JSON.stringify({ ...card, name: 'zz-better', metrics: { ...(card['metrics'] as object), imageAuroc: 0.9 } }));
    expect(await defaultModel(root)).toMatchObject({ name: 'zz-better', imageAuroc: 0.9 });
    // A directory whose name is no model name is not a candidate (and does not stop the choice).
    cpSync(join(root, 'draem-random'), join(root, 'Not_A_Model'), { recursive: true });
    expect(await defaultModel(root)).toMatchObject({ name: 'zz-better' });
  });

  it('falls back to an unmeasured model and says so when no model has a production version', async () => {
    const { root } = registry();
    expect(await defaultModel(root)).toEqual({ name: 'draem-random', version: '0.0.1', imageAuroc: null });
    const { root: none } = registry({ production: false });
    await expect(defaultModel(none)).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND', message: expect.stringContaining('promote') as unknown });
  });
});

describe('deployedVersion', () => {
  /** draem-random 0.0.1 (production) and 0.0.2, and other-family 1.0.0 without a production marker. */
  function twoFamilies(): string {
    const { root } = registry();
    cpSync(join(root, 'draem-random', '0.0.1'), join(root, 'draem-random', '0.0.2'), { recursive: true });
    mkdirSync(join(root, 'other-family'));
    cpSync(join(root, 'draem-random', '0.0.1'), join(root, 'other-family', '1.0.0'), { recursive: true });
    mkdirSync(join(root, 'Not.A.Model'));
    return root;
  }

  it("reads a bare version as the deployment's own model, name@version as any model's, and a bare name as that model's production version", async () => {
    const root = twoFamilies();
    expect(await deployedVersion('0.0.2', 'draem-random', root)).toBe('0.0.2');
    expect(await deployedVersion('draem-random@0.0.2', 'draem-random', root)).toBe('0.0.2');
    expect(await deployedVersion('other-family@1.0.0', 'draem-random', root)).toBe('other-family@1.0.0');
    expect(await deployedVersion('draem-random', 'other-family', root)).toBe('draem-random@0.0.1');
    expect(await deployedVersion('draem-random', 'draem-random', root)).toBe('0.0.1');
  });

  it('refuses an unknown name or version in one line naming what exists', async () => {
    const root = twoFamilies();
    expect(await registryModels(root)).toEqual(['draem-random', 'other-family']);
    await expect(deployedVersion('patchcore-aitex', 'draem-random', root)).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
      message: `no model patchcore-aitex in the registry ${root}: its models are draem-random, other-family`,
    });
    await expect(deployedVersion('9.9.9', 'draem-random', root)).rejects.toMatchObject({ message: 'draem-random has no version 9.9.9: its versions are 0.0.1, 0.0.2' });
    await expect(deployedVersion('other-family@2.0.0', 'draem-random', root)).rejects.toMatchObject({ message: 'other-family has no version 2.0.0: its versions are 1.0.0' });
    await expect(deployedVersion('other-family', 'draem-random', root)).rejects.toMatchObject({ message: expect.stringContaining('other-family has no production version') as unknown });
    await expect(deployedVersion('../x', 'draem-random', root)).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND', message: expect.stringContaining('is neither a version') as unknown });
    for (const message of await Promise.all(['patchcore-aitex', '9.9.9', 'other-family'].map((spec) => deployedVersion(spec, 'draem-random', root).catch((e: Error) => e.message)))) {
      expect(message).not.toContain('\n');
    }
  });
});
