import { inject } from 'vitest';
import type { Infra } from './infra.js';

/** The Kafka and S3 the integration run's global setup found or started (call inside a test file). */
export function testInfra(): Infra {
  return inject('infra');
}
