import { LoomwatchError, type ReplayPlan } from '@loomwatch/contracts';
import type { ReplayArgs } from './args.js';
import type { ReplayBroker } from './broker-offsets.js';
import type { PlanStore } from './plan-store.js';
import { buildPlan, checkPlanContinues, replayGroupId, replayId, resolvePartitions } from './plan.js';

interface PreparedReplay {
  plan: ReplayPlan;
  /** True on the run that made the plan. */
  created: boolean;
  groupId: string;
  /** The replay group's committed offset of every partition of the plan. */
  committed: Map<number, number>;
}

/** Resolves `--from` / `--to` against the broker into per-partition offset ranges. */
async function resolvePlanPartitions(broker: ReplayBroker, args: ReplayArgs, inputTopic: string): Promise<ReplayPlan['partitions']> {
  if (!(await broker.topicExists(inputTopic))) {
    throw new LoomwatchError('REPLAY_INVALID', `the input topic ${inputTopic} does not exist: check --input-topic (or worker.inputTopic) and the brokers`);
  }
  const watermarks = await broker.watermarks(inputTopic);
  return resolvePartitions(args.from, args.to, watermarks, {
    ...(args.from.kind === 'time' ? { fromByTime: await broker.offsetsAtTime(inputTopic, args.from.time.getTime()) } : {}),
    ...(args.to.kind === 'time' ? { toByTime: await broker.offsetsAtTime(inputTopic, args.to.time.getTime()) } : {}),
  });
}

/**
 * The plan of this replay — the stored one when an earlier run made it, else a new one, stored
 * before anything is decided — and its group positioned at the plan's start offsets. Positioning
 * only touches partitions without a committed offset, so a rerun never moves a group back.
 */
export async function prepareReplay(
  deps: { broker: ReplayBroker; plans: PlanStore; now?: () => Date },
  input: { args: ReplayArgs; inputTopic: string; targetTopic: string; modelSha256: string },
): Promise<PreparedReplay> {
  const { broker, plans } = deps;
  const { args, inputTopic, targetTopic, modelSha256 } = input;
  const id = replayId(args, inputTopic, targetTopic);
  const now = deps.now?.() ?? new Date();
  const stored = await plans.load(id);
  let plan: ReplayPlan;
  if (stored !== undefined) {
    checkPlanContinues(stored, buildPlan({ id, args, inputTopic, targetTopic, partitions: stored.partitions, modelSha256, now }));
    plan = stored;
  } else {
    plan = buildPlan({ id, args, inputTopic, targetTopic, partitions: await resolvePlanPartitions(broker, args, inputTopic), modelSha256, now });
    await plans.save(plan);
  }

  const groupId = replayGroupId(id);
  const committed = await broker.committed(groupId, inputTopic);
  const unpositioned = new Map(plan.partitions.filter((p) => !committed.has(p.partition)).map((p) => [p.partition, p.start]));
  if (unpositioned.size > 0) {
    await broker.setCommitted(groupId, inputTopic, unpositioned);
    for (const [partition, offset] of unpositioned) committed.set(partition, offset);
  }
  return { plan, created: stored === undefined, groupId, committed };
}
