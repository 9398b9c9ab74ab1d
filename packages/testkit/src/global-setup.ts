import type { TestProject } from 'vitest/node';
import { infraEnv, startInfra, type Infra } from './infra.js';

declare module 'vitest' {
  export interface ProvidedContext {
    infra: Infra;
  }
}

/**
 * Vitest global setup for integration projects: finds or starts Kafka and S3 once, hands
 * them to the tests, and stops only what it started. Later projects in the same run see the
 * variables the first one exported and reuse the servers.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const handle = await startInfra();
  Object.assign(process.env, infraEnv(handle.infra));
  project.provide('infra', handle.infra);
  return () => handle.stop();
}
