export * from './frame-handler.js'; export type * from './frame-decider.js';
