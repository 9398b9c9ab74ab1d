export { startInfra, infraEnv, runInfraScript, REPO_ROOT, type Infra } from './infra.js';
export { testInfra } from './test-infra.js';
export { aitexDir, aitexFrames, type AitexFrame } from './aitex.js';
export { buildWorkspace, builtEntry } from './build.js';
export { spawnNodeProcess, processExited, stopProcess, type NodeProcessOptions } from './node-process.js';
export { readCommittedWithKcat, type KcatRecord } from './kcat.js';
