import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RANDOM_MODEL, RANDOM_MODEL_DIR } from '@loomwatch/model-registry/fixtures';
import { aitexDir } from '@loomwatch/testkit';
import { InferenceEngine } from './engine.js';

interface PythonScore {
  file: string;
  score: number;
  label: number;
  fabric: string;
}

/**
 * The model pipeline's own scores for the random model (Python: PIL decode, numpy tiling,
 * onnxruntime, torch `avg_pool2d`), written by its evaluation. Matching them catches the usual
 * exported-model drift: a different decode, input scaling, tiling or score filter.
 */
const SCORES = join(RANDOM_MODEL_DIR, 'eval/scores.json');

describe.runIf(existsSync(SCORES))('parity with the model pipeline', { timeout: 120_000 }, () => {
  let engine: InferenceEngine;
  const all = existsSync(SCORES) ? (JSON.parse(readFileSync(SCORES, 'utf8')) as PythonScore[]) : [];
  // Normal and defect frames, including one of the grey + opaque alpha frames (fabric 04).
  const picked = [
    all.find((s) => s.label === 0 && s.fabric !== '04'),
    all.find((s) => s.label === 0 && s.fabric === '04'),
    ...all.filter((s) => s.label === 1).slice(0, 2),
  ].filter((s): s is PythonScore => s !== undefined);

  beforeAll(async () => {
    engine = await InferenceEngine.load({ model: RANDOM_MODEL, intraOpNumThreads: 2 });
  }, 120_000);
  afterAll(() => engine.close());

  it('scores AITEX validation frames as the Python pipeline scored them', async () => {
    expect(picked).toHaveLength(4);
    for (const expected of picked) {
      const result = await engine.infer(readFileSync(join(aitexDir(), expected.file)), expected.file);
      expect({ file: expected.file, score: result.score }).toEqual({ file: expected.file, score: expect.closeTo(expected.score, 5) as unknown });
    }
  });
});
