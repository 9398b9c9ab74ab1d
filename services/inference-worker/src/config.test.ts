import { describe, expect, it } from 'vitest';
import { loadConfig } from '@loomwatch/config';
import { WorkerConfig } from './config.js';

const load = (overrides: string[], env: NodeJS.ProcessEnv = {}) => loadConfig(WorkerConfig, { overrides, env });

describe('worker config', () => {
  it('refuses an unknown key and names where it is', () => {
    expect(() => load(['modle=draem-aitex'])).toThrow(/modle: unknown setting \(from --set modle\)/);
    expect(() => load(['worker.maxInFlite=4'])).toThrow(/worker\.maxInFlite: unknown setting/);
    expect(() => load([], { LOOMWATCH_WORKER__OUTPUT_BUKET: 'results' })).toThrow(/worker\.outputBuket: unknown setting \(from LOOMWATCH_WORKER__OUTPUT_BUKET\)/);
  });

  it('takes the keys it knows from files, environment and overrides', () => {
    const config = load(['worker.maxInFlight=4', 'model=draem-aitex@1.1.0'], { LOOMWATCH_WORKER__OUTPUT_BUCKET: 'results' });
    expect(config.worker).toMatchObject({ maxInFlight: 4, outputBucket: 'results', inputTopic: 'frames.v1' });
    expect(config.model).toBe('draem-aitex@1.1.0');
  });
});
