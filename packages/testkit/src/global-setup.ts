import type { TestProject } from 'vitest/node';
import { buildWorkspace } from './build.js';
import { infraEnv, startInfra, type Infra } from './infra.js';

declare module 'vitest' {
  export interface ProvidedContext {
    infra: Infra;
  }
}

/**
 * Vitest global setup for integration projects: compiles the workspace (tests spawn services from
 * dist/, as deployed; incremental, so cheap when nothing changed), finds or starts Kafka and S3
 * once, hands them to the tests, and stops only what it started. Later projects in the same run
 * see the variables the first one exported and reuse the servers.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await buildWorkspace();
  const handle = await startInfra();
  Object.assign(process.env, infraEnv(handle.infra));
  project.provide('infra', handle.infra);
  return () => handle.stop();
}
