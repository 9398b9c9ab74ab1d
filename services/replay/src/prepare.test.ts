import { describe, expect, it } from 'vitest';
import type { ReplayPlan } from '@loomwatch/contracts';
import { parseReplayArgs, type ReplayArgs } from './args.js';
import type { Watermarks } from '@loomwatch/kafka';
import type { ReplayBroker } from './broker-offsets.js';
import type { PlanStore } from './plan-store.js';
import { prepareReplay } from './prepare.js';

const SHA = 'c'.repeat(64);

/** An in-memory broker: watermarks that can move, offsets by time, and one group's commits. */
function fakeBroker(watermarks: Watermarks[], atTime: Map<number, number>) {
  const groups = new Map<string, Map<number, number>>();
  const broker: ReplayBroker = {
    topicExists: (topic) => Promise.resolve(topic === 'frames.v1'),
    // Read at call time: a test moves the watermarks between runs.
    watermarks: () => Promise.resolve([...watermarks]),
    offsetsAtTime: () => Promise.resolve(new Map(atTime)),
    committed: (groupId) => Promise.resolve(new Map(groups.get(groupId) ?? [])),
    setCommitted: (groupId, _topic, offsets) => {
      const group = groups.get(groupId) ?? new Map<number, number>();
      for (const [p, o] of offsets) group.set(p, o);
      groups.set(groupId, group);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
  return { broker, groups };
}

function memoryPlans(): PlanStore & { saved: ReplayPlan[] } {
  const saved: ReplayPlan[] = [];
  return {
    saved,
    load: (id) => Promise.resolve(saved.filter((p) => p.id === id).at(-1)),
    save: (plan) => {
      saved.push(plan);
      return Promise.resolve();
    },
  };
}

const input = (argv: string[]) => ({
  args: parseReplayArgs(['--model', 'draem-random@0.0.2', ...argv]) as ReplayArgs,
  inputTopic: 'frames.v1',
  targetTopic: 'verdicts.replay.draem-random.0.0.2',
  modelSha256: SHA,
});

describe('preparing a replay', () => {
  it('plans from the broker on the first run, stores the plan and puts the group at its start offsets', async () => {
    const marks = [
      { partition: 0, low: 0, high: 30 },
      { partition: 1, low: 0, high: 20 },
    ];
    const { broker, groups } = fakeBroker(marks, new Map([[0, 12], [1, 20]]));
    const plans = memoryPlans();
    const prepared = await prepareReplay({ broker, plans }, input(['--from', '2026-03-01T08:00:00Z']));
    expect(prepared.created).toBe(true);
    expect(prepared.plan.partitions).toEqual([
      { partition: 0, start: 12, end: 30 },
      { partition: 1, start: 20, end: 20 },
    ]);
    expect(plans.saved).toEqual([prepared.plan]);
    expect(prepared.groupId).toBe(`loomwatch-replay.${prepared.plan.id}`);
    expect(groups.get(prepared.groupId)).toEqual(new Map([[0, 12], [1, 20]]));
  });

  it('continues the stored plan on a rerun although the topic has grown, and never moves the group back', async () => {
    const marks = [{ partition: 0, low: 0, high: 30 }];
    const { broker, groups } = fakeBroker(marks, new Map());
    const plans = memoryPlans();
    const first = await prepareReplay({ broker, plans }, input(['--from', 'earliest']));
    groups.get(first.groupId)?.set(0, 17); // the first run got this far
    marks[0] = { partition: 0, low: 0, high: 90 }; // live frames kept arriving
    const again = await prepareReplay({ broker, plans }, input(['--from', 'earliest', '--workers', '3']));
    expect(again.created).toBe(false);
    expect(again.plan).toEqual(first.plan);
    expect(again.plan.partitions).toEqual([{ partition: 0, start: 0, end: 30 }]);
    expect(again.committed).toEqual(new Map([[0, 17]]));
    expect(plans.saved).toHaveLength(1);
  });

  it('refuses an input topic that does not exist', async () => {
    const { broker } = fakeBroker([], new Map());
    await expect(prepareReplay({ broker, plans: memoryPlans() }, { ...input(['--from', 'earliest']), inputTopic: 'frames.v9' })).rejects.toThrow(
      /input topic frames.v9 does not exist/,
    );
  });
});
