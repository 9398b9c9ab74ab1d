export { buildFrameEvent, frameIdOf, frameObjectKey, sha256Hex, uploadAndPublish, type CapturedFrame } from './frame-publisher.js';
