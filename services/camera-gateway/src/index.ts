export { FramePublisher, buildFrameEvent, frameIdOf, frameObjectKey, sha256Hex, type CapturedFrame, type FramePublisherOptions } from './frame-publisher.js';
export { runSimulator, type SimulatorOptions } from './simulator.js';
export { listImageFiles, readImageFile, aitexProduct, encodingOf, looksComplete, type ImageFile } from './image-files.js';
export { HotFolder, type HotFolderOptions } from './hot-folder.js';
export { PublishedFrames, type LookupWindow, type PublishedFramesOptions } from './published-frames.js';
export { startHttpGateway, type HttpGateway, type HttpGatewayOptions } from './http-gateway.js';
export { GatewayConfig, GATEWAY_MODES, type GatewayMode } from './config.js';
export { startGateway, type RunningGateway } from './gateway.js';
