import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { ModelCard, type OperatingPoint } from './model-card.js';

const REPO = join(import.meta.dirname, '../../..');

/** A registry card (the random test model), as JSON. */
function registryCard(): Record<string, unknown> & { postprocess: Record<string, unknown> } {
  return JSON.parse(readFileSync(join(REPO, 'models/registry/draem-random/0.0.1/model.json'), 'utf8')) as Record<string, unknown> & { postprocess: Record<string, unknown> };
}

function point(falseAlarmRate: number, imageThreshold: number): OperatingPoint {
  return { falseAlarmRate, imageThreshold, observed: { falseAlarms: 0, frames: 120, low: 0, high: 0.0303 } };
}

/** A card with pooled and per-fabric operating points and per-fabric routing, as the model pipeline writes one. */
function cardWithOperatingPointsAndRouting(): Record<string, unknown> {
  const card = registryCard();
  const operatingPoints = {
    frames: 120,
    source: 'out-of-fold training normals + validation normals',
    points: [point(0.001, 0.81), point(0.002, 0.79), point(0.05, 0.62), point(0.2, 0.55)],
  };
  return {
    ...card,
    postprocess: {
      ...card.postprocess,
      operatingPoints,
      fabrics: { '00': { imageThreshold: 0.6, pixelThreshold: 0.65, normalization: { min: 0.1, max: 0.9 }, operatingPoints } },
    },
    routing: { input: 'bank', fabrics: { '00': 0, '01': 1 }, fallback: 7 },
  };
}

describe('ModelCard', () => {
  it('accepts a card with operating points, pooled and per fabric, and routing', () => {
    const parsed = ModelCard.parse(cardWithOperatingPointsAndRouting());
    expect(parsed.routing).toEqual({ input: 'bank', fabrics: { '00': 0, '01': 1 }, fallback: 7 });
    expect(parsed.postprocess.operatingPoints?.points.map((p) => p.falseAlarmRate)).toEqual([0.001, 0.002, 0.05, 0.2]);
    expect(parsed.postprocess.fabrics?.['00']?.operatingPoints?.frames).toBe(120);
  });

  it('is accepted by the published JSON Schema (docs/schemas/model-card.v1.json) the Python pipeline validates with', () => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormatsModule.default(ajv);
    const validate = ajv.compile(JSON.parse(readFileSync(join(REPO, 'docs/schemas/model-card.v1.json'), 'utf8')) as object);
    const card = cardWithOperatingPointsAndRouting();
    expect(validate(card), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...card, routing: { input: 'bank', fabrics: {}, fallback: 7, banks: 8 } })).toBe(false);
  });

  it('still accepts a card with neither', () => {
    expect(ModelCard.safeParse(registryCard()).success).toBe(true);
  });

  it.each([
    ['points not ascending in rate', [point(0.05, 0.6), point(0.01, 0.7)], /points ascend in falseAlarmRate/],
    ['a threshold that rises with the rate', [point(0.01, 0.6), point(0.05, 0.7)], /a higher false-alarm rate has a lower threshold/],
    ['a rate of 1', [point(1, 0.6)], /falseAlarmRate/],
    ['no points', [], /points/],
  ])('refuses operating points with %s', (_, points, message) => {
    const card = cardWithOperatingPointsAndRouting() as { postprocess: { operatingPoints: { points: unknown } } };
    card.postprocess.operatingPoints.points = points;
    const result = ModelCard.safeParse(card);
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toMatch(message);
  });

  it('refuses an observed interval upside down and more false alarms than frames', () => {
    for (const observed of [{ falseAlarms: 1, frames: 120, low: 0.2, high: 0.1 }, { falseAlarms: 121, frames: 120, low: 0, high: 1 }]) {
      const card = cardWithOperatingPointsAndRouting() as { postprocess: { operatingPoints: { points: OperatingPoint[] } } };
      card.postprocess.operatingPoints.points = [{ ...point(0.05, 0.6), observed }];
      expect(ModelCard.safeParse(card).success).toBe(false);
    }
  });

  it('refuses routing without a fallback or with a negative index', () => {
    const card = cardWithOperatingPointsAndRouting();
    expect(ModelCard.safeParse({ ...card, routing: { input: 'bank', fabrics: {} } }).success).toBe(false);
    expect(ModelCard.safeParse({ ...card, routing: { input: 'bank', fabrics: { '00': -1 }, fallback: 0 } }).success).toBe(false);
  });

  it('accepts the lineage of a refitted version and refuses one without its snapshot id', () => {
    const counts = { parent: 3, candidate: 1, frames: 8 };
    const lineage = {
      parent: { name: 'patchcore-aitex', version: '1.2.0' },
      snapshot: { id: 'a'.repeat(64) },
      method: 'reviewed normals of the fit half into the banks',
      counts: { reviewed: 20, bankNormals: 8, heldOutNormals: 8, defects: 4, heldOutDefects: 2, patchesAdded: 1300 },
      gate: {
        passed: true,
        reasons: [],
        validation: { parent: 0.93, candidate: 0.931, tolerance: 0.01, frames: 87 },
        heldOut: { falseAlarms: counts, detected: { parent: 2, candidate: 2, frames: 2 } },
      },
    };
    const card = cardWithOperatingPointsAndRouting();
    expect(ModelCard.parse({ ...card, lineage }).lineage?.snapshot.id).toBe('a'.repeat(64));
    expect(ModelCard.safeParse({ ...card, lineage: { ...lineage, snapshot: {} } }).success).toBe(false);
    expect(ModelCard.safeParse({ ...card, lineage: { ...lineage, parent: { name: 'patchcore-aitex', version: 'latest' } } }).success).toBe(false);
  });
});
