export { InferenceEngine, type LoadEngineOptions } from './engine.js';
export { InferenceConfig, DEFAULT_REGISTRY_ROOT, Precision } from './options.js';
export type { Model } from './model/model.js';
export { sessionOptions } from './model/onnx-model.js';
export { resolveModel, readModelCard, defaultModel } from './model/registry.js';
export { readVerifiedOnnx } from './model/onnx-file.js';
export { encodeMapPng, encodeOverlay } from './image/render.js';
export { planTiles, fillTileBatch, inputLut } from './core/tiling.js';
export { type Normalization } from './core/scoring.js';
export { inputStats } from './core/stats.js';
export {
  selectPrecision,
  choosePrecision,
  cpuFlagsFromCpuinfo,
  readCpuFlags,
  hasVnni,
  MAX_INT8_AUROC_LOSS,
  type PrecisionChoice,
  type PrecisionSelection,
  type Int8Variant,
} from './model/precision.js';
