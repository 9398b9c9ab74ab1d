import { describe, expect, it } from 'vitest';
import type { TopicSpecification } from '@loomwatch/contracts';
import type { TopicState } from './ports.js';
import { planTopic } from './provisioning.js';

const specification: TopicSpecification = {
  topic: 'frames.v1',
  partitions: 8,
  replicationFactor: 3,
  configs: { 'cleanup.policy': 'delete', 'retention.ms': '2592000000', 'min.insync.replicas': '2' },
};
const asDeclared: TopicState = { topic: 'frames.v1', partitions: 8, replicationFactor: 3, configs: { ...specification.configs, 'segment.ms': '604800000' } };
const fields = (state: TopicState, growPartitions = false): [string, string, string, string][] =>
  planTopic(specification, state, { growPartitions }).differences.map((d) => [d.field, d.declared, d.actual, d.fix]);

describe('planTopic', () => {
  it('finds nothing to do for a topic as declared, whatever configs it has besides', () => {
    expect(planTopic(specification, asDeclared).differences).toEqual([]);
  });

  it('plans nothing for a missing topic: it is created whole', () => {
    expect(planTopic(specification, undefined)).toMatchObject({ topic: 'frames.v1', state: undefined, differences: [] });
  });

  it('sets configs that differ or are unset', () => {
    const state = { ...asDeclared, configs: { 'cleanup.policy': 'delete', 'retention.ms': '604800000' } };
    expect(fields(state)).toEqual([
      ['retention.ms', '2592000000', '604800000', 'alter'],
      ['min.insync.replicas', '2', '(unset)', 'alter'],
    ]);
  });

  it('grows fewer partitions only when asked, and never shrinks', () => {
    expect(fields({ ...asDeclared, partitions: 4 })).toEqual([['partitions', '8', '4', 'manual']]);
    expect(fields({ ...asDeclared, partitions: 4 }, true)).toEqual([['partitions', '8', '4', 'grow']]);
    expect(fields({ ...asDeclared, partitions: 16 }, true)).toEqual([['partitions', '8', '16', 'manual']]);
  });

  it('leaves replication to a reassignment, and min.insync.replicas above the replicas a topic has (the race a service won at replication 1)', () => {
    const raced = { topic: 'frames.v1', partitions: 4, replicationFactor: 1, configs: { 'cleanup.policy': 'delete', 'retention.ms': '604800000', 'min.insync.replicas': '1' } };
    const plan = planTopic(specification, raced, { growPartitions: true });
    expect(plan.differences.map((d) => [d.field, d.fix])).toEqual([
      ['partitions', 'grow'],
      ['replicationFactor', 'manual'],
      ['retention.ms', 'alter'],
      ['min.insync.replicas', 'manual'],
    ]);
    expect(plan.differences.find((d) => d.field === 'replicationFactor')?.hint).toContain('kafka-reassign-partitions.sh');
    expect(plan.differences.find((d) => d.field === 'min.insync.replicas')?.hint).toContain('refuse every write');
  });
});
