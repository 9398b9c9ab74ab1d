export { startInfra, infraEnv, localStateDir, REPO_ROOT, type Infra, type InfraHandle } from './infra.js';
export { testInfra } from './test-infra.js';
export { aitexDir, aitexFrames, type AitexFrame } from './aitex.js';
export { spawnNodeProcess, processExited, stopProcess, type NodeProcessOptions } from './node-process.js';
export { readCommittedWithKcat, type KcatRecord } from './kcat.js';
