export { startInfra, infraEnv, localStateDir, REPO_ROOT, type Infra, type InfraHandle } from './infra.js';
export { useTestInfra, type ReadMessage, type TestInfraContext } from './context.js';
export { aitexDir, aitexFrames, type AitexFrame } from './aitex.js';
export { spawnWorkerProcess, processExited, stopProcess, type WorkerProcessOptions } from './worker-process.js';
export { readCommittedWithKcat, type KcatRecord } from './kcat.js';
