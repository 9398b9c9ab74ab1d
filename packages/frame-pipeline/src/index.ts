/**
 * The frame pipeline the live worker and a replay share: a frame record in, its verdict (or dead
 * letter) out, exactly once.
 *
 * Glossary: *decider* — one loaded model version, image in, decision out (`@loomwatch/inference`'s
 * `Decider`); *model pool* — the versions a deployment names, loaded, and the router that picks the
 * decider (and shadow) of each frame by the deployment's rules (`model-pool.ts`, `routing.ts`);
 * *record handler* — one frame record to its verdict messages (`record-handler.ts`); *dead letter*
 * — the outcome of a frame that cannot be decided (`dead-letters.ts`); *frame processor* — both on
 * the exactly-once consume → decide → produce port (`frame-processor.ts`).
 */
export { PipelineConfig } from './config.js';
export { publishControlMessage } from './control-topic.js';
export { createFrameProcessor } from './frame-processor.js';
export { createFrameRecordHandler, outputKeys } from './record-handler.js';
export { ModelPool, fixedDeployment, servedFor } from './model-pool.js';
export { sampleKey, type Route } from './routing.js';
