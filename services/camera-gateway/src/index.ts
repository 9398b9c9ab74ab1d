export { FramePublisher, buildFrameEvent, frameIdOf, frameObjectKey, sha256Hex, type CapturedFrame, type FramePublisherOptions } from './frame-publisher.js';
export { runSimulator, type SimulatorOptions } from './simulator.js';
export { listImageFiles, readImageFile, aitexProduct, encodingOf, type ImageFile } from './image-files.js';
