import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelCard } from '@loomwatch/contracts';
import { RANDOM_MODEL_DIR } from '@loomwatch/model-registry/fixtures';
import { InferenceEngine } from '../engine.js';
import { routedTestOnnx } from './fixtures.js';
import { OnnxModel, checkSessionAgainstCard, type SessionConfig, type SessionDescription } from './onnx-model.js';

const session: SessionConfig = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionProviders: ['cpu'] };
const plainCard = ModelCard.parse(JSON.parse(readFileSync(join(RANDOM_MODEL_DIR, 'model.json'), 'utf8')));
const routing = { input: 'bank', fabrics: { '00': 0, '01': 1 }, fallback: 7 };
const routedCard: ModelCard = { ...plainCard, routing };

interface Meta {
  type: string;
  shape: readonly (number | string)[];
}
const tiles: Meta = { type: 'float32', shape: ['N', 1, 256, 256] };
function described(inputs: Record<string, Meta>): SessionDescription {
  return {
    inputNames: Object.keys(inputs),
    outputNames: ['anomaly_map'],
    inputMetadata: Object.entries(inputs).map(([name, meta]) => ({ name, isTensor: true, ...meta })) as unknown as SessionDescription['inputMetadata'],
    outputMetadata: [{ name: 'anomaly_map', isTensor: true, ...tiles }] as unknown as SessionDescription['outputMetadata'],
  };
}

describe('checkSessionAgainstCard with routing', () => {
  it("accepts a routed card's graph with an int64 [1] routing input", () => {
    expect(checkSessionAgainstCard(described({ image: tiles, bank: { type: 'int64', shape: [1] } }), routedCard, 'm')).toBe(Infinity);
  });

  it('names the routing input a graph lacks', () => {
    expect(() => checkSessionAgainstCard(described({ image: tiles }), routedCard, 'm')).toThrow(
      expect.objectContaining({ code: 'MODEL_SHAPE_MISMATCH', message: 'm has inputs [image] but the card routes by an input "bank": fix routing.input in the card or re-export the model with it' }),
    );
  });

  it('names an input the card does not describe, routed or not', () => {
    expect(() => checkSessionAgainstCard(described({ image: tiles, bank: { type: 'int64', shape: [1] } }), plainCard, 'm')).toThrow(
      expect.objectContaining({ code: 'MODEL_SHAPE_MISMATCH', message: expect.stringContaining("needs the card's routing (routing.input names it)") as unknown }),
    );
    const bank: Meta = { type: 'int64', shape: [1] };
    expect(() => checkSessionAgainstCard(described({ image: tiles, bank, mask: tiles }), routedCard, 'm')).toThrow(
      expect.objectContaining({ code: 'MODEL_SHAPE_MISMATCH', message: expect.stringContaining('has inputs [image, bank, mask] but the card describes only [image, bank]') as unknown }),
    );
  });

  it('refuses a routing input that is not int64 [1]', () => {
    for (const meta of [{ type: 'float32', shape: [1] }, { type: 'int64', shape: [2] }] satisfies Meta[]) {
      expect(() => checkSessionAgainstCard(described({ image: tiles, bank: meta }), routedCard, 'm')).toThrow(expect.objectContaining({ code: 'MODEL_SHAPE_MISMATCH', message: expect.stringContaining('the engine feeds int64 [1]') as unknown }));
    }
  });
});

describe('OnnxModel with a routed graph', () => {
  const opened: OnnxModel[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((model) => model.close()));
  });
  const open = async (card: ModelCard, bytes = routedTestOnnx()): Promise<OnnxModel> => {
    const model = await OnnxModel.create(bytes, card, session);
    opened.push(model);
    return model;
  };

  it('feeds the route as the int64 routing input beside the tiles', async () => {
    const model = await open(routedCard);
    const batch = new Float32Array(2 * 256 * 256).fill(0.25);
    expect(new Set(await model.run(batch, 2, undefined, 3))).toEqual(new Set([3.25]));
    expect(new Set(await model.run(batch, 1, undefined, 0))).toEqual(new Set([0.25]));
  });

  it('refuses a run without a route or with a negative one, and a route for a model that does not route', async () => {
    const model = await open(routedCard);
    const batch = new Float32Array(256 * 256);
    await expect(model.run(batch, 1)).rejects.toMatchObject({ code: 'MODEL_RUN_FAILED', message: expect.stringContaining('routes by its input "bank"') as unknown });
    await expect(model.run(batch, 1, undefined, -1)).rejects.toMatchObject({ code: 'MODEL_RUN_FAILED' });
    const plain = await open(plainCard, readFileSync(join(RANDOM_MODEL_DIR, 'model.onnx')));
    await expect(plain.run(batch, 1, undefined, 1)).rejects.toMatchObject({ code: 'MODEL_RUN_FAILED', message: expect.stringContaining('does not route') as unknown });
  });

  it('refuses at load a card whose routing input the graph does not have, naming it', async () => {
    await expect(open({ ...routedCard, routing: { ...routing, input: 'fabric_bank' } })).rejects.toMatchObject({
      code: 'MODEL_SHAPE_MISMATCH',
      message: expect.stringContaining('the card routes by an input "fabric_bank"') as unknown,
    });
    await expect(open(plainCard)).rejects.toMatchObject({ code: 'MODEL_SHAPE_MISMATCH', message: expect.stringContaining('[image, bank]') as unknown });
  });

  it("runs every tile of a frame with its fabric's index, and the fallback for an unknown fabric or none", async () => {
    const model = await open(routedCard);
    const engine = InferenceEngine.create({ card: routedCard, dir: '', model, batchLimit: model.batchLimit }, { maxBatch: 3 });
    const frame = { data: new Uint8Array(1024 * 256), width: 1024, height: 256 };
    for (const [fabric, route] of [['01', 1], ['00', 0], ['05', 7], [undefined, 7]] as const) {
      const result = await engine.infer(frame, 'frame', fabric);
      expect(result.route).toBe(route);
      expect(new Set(result.map)).toEqual(new Set([route]));
    }
  });
});
