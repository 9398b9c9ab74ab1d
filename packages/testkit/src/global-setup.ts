import type { TestProject } from 'vitest/node';
import { buildWorkspace } from './build.js';
import { infraEnv, startInfra, testInstanceSettings, type Infra } from './infra.js';

declare module 'vitest' {
  export interface ProvidedContext {
    infra: Infra;
  }
}

/**
 * Vitest global setup for integration projects: compiles the workspace (tests spawn services from
 * dist/, as deployed; incremental, so cheap when nothing changed), finds or starts Kafka and S3
 * once, hands them to the tests, and stops only what it started. The local servers are the tests'
 * own instance (testInstanceSettings: its state dir and ports, exported so that a test running
 * infra.sh itself acts on it), never the one `make demo` uses. Later projects in the same run see
 * the variables the first one exported and reuse the servers.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await buildWorkspace();
  Object.assign(process.env, testInstanceSettings());
  // What the tests leave behind goes when the last run stops the servers: each run starts from empty.
  const handle = await startInfra(process.env, { discardOnStop: true });
  Object.assign(process.env, infraEnv(handle.infra));
  project.provide('infra', handle.infra);
  return () => handle.stop();
}
