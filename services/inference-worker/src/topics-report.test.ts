import { describe, expect, it } from 'vitest';
import type { TopicSpecification } from '@loomwatch/contracts';
import type { TopicOutcome } from '@loomwatch/kafka';
import { allAsDeclared, hintLines, summaryLine, tableHeader, tableRow } from './topics-report.js';

const specification: TopicSpecification = { topic: 'frames.v1', partitions: 8, replicationFactor: 3, configs: { 'cleanup.policy': 'delete', 'min.insync.replicas': '2' } };
const state = { topic: 'frames.v1', partitions: 4, replicationFactor: 3, configs: { 'cleanup.policy': 'delete', 'min.insync.replicas': '1' } };
const grow = { field: 'partitions', declared: '8', actual: '4', fix: 'manual', hint: 'grow it with --grow-partitions' } as const;
const isr = { field: 'min.insync.replicas', declared: '2', actual: '1', fix: 'alter' } as const;

describe('the topics apply report', () => {
  it('shows a row per topic: partitions and replicas as declared, changed (→) or still different (≠), and what changed', () => {
    const drift: TopicOutcome = { topic: 'frames.v1', status: 'drift', specification, state, differences: [grow, isr], remaining: [grow] };
    expect(tableHeader(9)).toBe('TOPIC      PARTITIONS  REPLICAS  STATUS   DETAILS');
    expect(tableRow(drift, 9)).toBe('frames.v1  4≠8         3         drift    min.insync.replicas 1→2');
    const created: TopicOutcome = { topic: 'frames.v1', status: 'created', specification, state: undefined, differences: [], remaining: [] };
    expect(tableRow(created, 9)).toBe('frames.v1  8           3         created  cleanup.policy=delete min.insync.replicas=2');
  });

  it('says what to do once per kind of difference, and whether the cluster stands as declared', () => {
    const drift: TopicOutcome = { topic: 'frames.v1', status: 'drift', specification, state, differences: [grow], remaining: [grow] };
    const ok: TopicOutcome = { topic: 'verdicts.v1', status: 'ok', specification: { ...specification, topic: 'verdicts.v1' }, state, differences: [], remaining: [] };
    expect(hintLines([drift, ok])).toEqual(['partitions: grow it with --grow-partitions (frames.v1)']);
    expect(allAsDeclared([drift, ok])).toBe(false);
    expect(allAsDeclared([ok])).toBe(true);
    expect(summaryLine([drift, ok], true)).toBe('0 missing, 1 differ of 2 topics: loomwatch topics apply creates the missing and sets the configs');
    expect(summaryLine([drift, ok], false)).toBe('0 created, 0 changed, 1 already as declared; 1 still differ: apply leaves partitions it may not grow and replication to you');
  });
});
