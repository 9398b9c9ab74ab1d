import { describe, expect, it } from 'vitest';
import { loadConfig } from '@loomwatch/config';
import { WorkerConfig, staticMemberId } from './config.js';

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

describe('the static member id', () => {
  it('is worker.groupInstanceId, else WORKER_ID, and none for a dynamic member', () => {
    expect(staticMemberId(load([]).worker, { WORKER_ID: 'inference-worker-0' })).toBe('inference-worker-0');
    expect(staticMemberId(load(['worker.groupInstanceId=line-1-worker']).worker, { WORKER_ID: 'inference-worker-0' })).toBe('line-1-worker');
    expect(staticMemberId(load(['worker.groupInstanceId=none']).worker, { WORKER_ID: 'inference-worker-0' })).toBeUndefined();
    expect(staticMemberId(load([]).worker, {})).toBeUndefined();
  });

  it('refuses an id Kafka would not take, and a group protocol it does not know', () => {
    expect(() => load(['worker.groupInstanceId=two words'])).toThrow(/worker\.groupInstanceId/);
    expect(() => load(['kafka.groupProtocol=cooperative'])).toThrow(/kafka\.groupProtocol/);
    expect(load(['kafka.groupProtocol=consumer']).kafka.groupProtocol).toBe('consumer');
  });
});
