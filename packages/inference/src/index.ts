export { InferenceEngine, type LoadEngineOptions } from './engine.js';
export { EngineDecider, type Decider, type Decision, type EngineDeciderOptions, type OverlayTiming, type RenderedOverlayImage } from './decider.js';
export { InferenceConfig } from './options.js';
export type { Model } from './model/model.js';
export { sessionOptions } from './model/onnx-model.js';
export { readVerifiedOnnx } from './model/onnx-file.js';
export { encodeMapPng, mapToGray8 } from './image/render.js';
export { planTiles, fillTileBatch, inputLut } from './core/tiling.js';
export { inputStats } from './core/stats.js';
