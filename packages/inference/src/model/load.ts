import type { ModelCard } from '@loomwatch/contracts';
import { readModelCard, resolveModel, type ModelSource } from '@loomwatch/model-registry';
import type { InferenceConfig } from '../options.js';
import type { Model } from './model.js';
import { OnnxModel, type SessionConfig } from './onnx-model.js';
import { readVerifiedOnnx } from './onnx-file.js';

export interface LoadedModel {
  card: ModelCard;
  /** The version directory the card and ONNX were read from. */
  dir: string;
  model: Model;
  /** The largest batch the graph accepts (Infinity for a dynamic batch axis). */
  batchLimit: number;
}

/**
 * Resolves a model (a registry reference, or `{ dir }`: see `ModelSource`), validates the card,
 * verifies the ONNX file against it and opens an onnxruntime session. Each failure is a
 * `LoomwatchError`: MODEL_NOT_FOUND, MODEL_CARD_INVALID, MODEL_CHECKSUM_MISMATCH,
 * MODEL_OPSET_UNSUPPORTED or MODEL_SHAPE_MISMATCH.
 */
export async function loadOnnxModel(ref: ModelSource, config: Pick<InferenceConfig, 'registryRoot'> & SessionConfig): Promise<LoadedModel> {
  const location = await resolveModel(ref, config.registryRoot);
  const card = await readModelCard(location);
  const bytes = await readVerifiedOnnx(location.dir, card);
  const model = await OnnxModel.create(bytes, card, config);
  return { card, dir: location.dir, model, batchLimit: model.batchLimit };
}
