import { describe, expect, it } from 'vitest';
import { TOPICS, TOPIC_DECLARATIONS, TOPIC_PROFILES, parseMessageKey, topicSpecifications } from './topics.js';

describe('the topic declaration', () => {
  it('declares every topic once, compacting only the control topic', () => {
    expect(TOPIC_DECLARATIONS.map((declared) => declared.name).sort()).toEqual(Object.values(TOPICS).sort());
    expect(TOPIC_DECLARATIONS.filter((declared) => declared.cleanupPolicy === 'compact').map((declared) => declared.name)).toEqual([TOPICS.control]);
    for (const declared of TOPIC_DECLARATIONS) expect(declared.retentionMs === undefined, declared.name).toBe(declared.cleanupPolicy === 'compact');
  });

  it('resolves a profile into replication and min.insync.replicas, with partition overrides and a prefix', () => {
    const production = topicSpecifications({ replication: TOPIC_PROFILES.production, partitions: { [TOPICS.frames]: 16 } });
    expect(production.find((spec) => spec.topic === 'frames.v1')).toEqual({
      topic: 'frames.v1',
      partitions: 16,
      replicationFactor: 3,
      configs: { 'cleanup.policy': 'delete', 'retention.ms': '2592000000', 'min.insync.replicas': '2' },
    });
    const dev = topicSpecifications({ replication: TOPIC_PROFILES.dev, prefix: 'test-' });
    expect(dev.find((spec) => spec.topic === 'test-control.v1')).toEqual({
      topic: 'test-control.v1',
      partitions: 1,
      replicationFactor: 1,
      configs: { 'cleanup.policy': 'compact', 'min.insync.replicas': '1' },
    });
  });
});

describe('message keys', () => {
  it('splits lineId:cameraId at the first colon and refuses an empty side', () => {
    expect(parseMessageKey('line-1:cam:2')).toEqual({ lineId: 'line-1', cameraId: 'cam:2' });
    expect(parseMessageKey(':cam')).toBeUndefined();
    expect(parseMessageKey('line:')).toBeUndefined();
  });
});
