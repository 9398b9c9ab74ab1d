import { describe, expect, it } from 'vitest';
import { loadReplayConfig } from './config.js';

describe('replay config', () => {
  it('shares two onnxruntime threads among the workers unless threads are configured', () => {
    expect(loadReplayConfig({ files: [], overrides: [], workers: 1, env: {} }).inference.intraOpNumThreads).toBe(2);
    expect(loadReplayConfig({ files: [], overrides: [], workers: 3, env: {} }).inference.intraOpNumThreads).toBe(1);
    const configured = loadReplayConfig({ files: [], overrides: [], workers: 1, env: { LOOMWATCH_INFERENCE__INTRA_OP_NUM_THREADS: '0' } });
    expect(configured.inference.intraOpNumThreads).toBe(0);
    expect(loadReplayConfig({ files: [], overrides: ['inference.intraOpNumThreads=4'], workers: 2, env: {} }).inference.intraOpNumThreads).toBe(4);
  });

  it('reads the worker environment (brokers, S3, topics) and logs only warnings by default', () => {
    const config = loadReplayConfig({
      files: [],
      overrides: [],
      workers: 1,
      env: { KAFKA_BROKERS: 'k1:9092,k2:9092', S3_ENDPOINT: 'http://s3:9000', LOOMWATCH_WORKER__DEAD_LETTER_TOPIC: 'dlq.test' },
    });
    expect(config.kafka.brokers).toEqual(['k1:9092', 'k2:9092']);
    expect(config.s3.endpoint).toBe('http://s3:9000');
    expect(config.worker.deadLetterTopic).toBe('dlq.test');
    expect(config.log.level).toBe('warn');
  });

  it('refuses an unknown key and names where it is', () => {
    const load = (overrides: string[]) => () => loadReplayConfig({ files: [], overrides, workers: 1, env: {} });
    expect(load(['worker.inputTopik=frames.v2'])).toThrow(/worker\.inputTopik: unknown setting/);
    expect(load(['inference.intraOpThreads=2'])).toThrow(/inference\.intraOpThreads: unknown setting/);
  });

  it("accepts the worker's own model and ops keys, so one config file serves both", () => {
    expect(() => loadReplayConfig({ files: [], overrides: ['model=draem-aitex@1.1.0', 'ops.port=0'], workers: 1, env: {} })).not.toThrow();
  });
});
