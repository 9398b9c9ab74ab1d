export { createFrameHandler, createDeadLetterBuilder, outputKeys, type FrameHandlerConfig, type FrameHandlerDeps } from './frame-handler.js';
export type { Decision, FrameDecider } from './frame-decider.js';
export { EngineDecider, type EngineDeciderOptions } from './engine-decider.js';
export { WorkerConfig } from './config.js';
export { startWorker, type RunningWorker } from './worker.js';
