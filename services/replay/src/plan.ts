/**
 * Replay planning, pure: the replay id, the target topic rules, and the per-partition offset
 * ranges from the broker's answers. The broker lookups themselves live in `broker-offsets.ts`.
 */
import { createHash } from 'node:crypto';
import { LoomwatchError, type ReplayPartition, type ReplayPlan, type ReplaySelection } from '@loomwatch/contracts';
import type { Watermarks } from '@loomwatch/kafka';
import { canonicalFrom, canonicalTo, type FromSpec, type ReplayArgs, type ToSpec } from './args.js';

/** Offsets per partition (the first record at or after a time, or the high watermark when none is). */
type OffsetsByPartition = ReadonlyMap<number, number>;

export function defaultTargetTopic(model: { name: string; version: string }): string {
  return `verdicts.replay.${model.name}.${model.version}`;
}

/** A replay's dead letters stay beside its verdicts, so live alerting never counts a replayed bad frame. */
export function replayDeadLetterTopic(targetTopic: string): string {
  return `${targetTopic}.dlq`;
}

/** The arguments that make a replay what it is (not how many workers run it). */
function replayIdentity(args: ReplayArgs, inputTopic: string, targetTopic: string): string {
  return JSON.stringify({
    inputTopic,
    from: canonicalFrom(args.from),
    to: canonicalTo(args.to),
    selection: args.selection,
    model: `${args.model.name}@${args.model.version}`,
    targetTopic,
  });
}

/** `--name`, or the first 12 hex digits of the canonical arguments' sha256. */
export function replayId(args: ReplayArgs, inputTopic: string, targetTopic: string): string {
  return args.name ?? createHash('sha256').update(replayIdentity(args, inputTopic, targetTopic)).digest('hex').slice(0, 12);
}

export function replayGroupId(id: string): string {
  return `loomwatch-replay.${id}`;
}

/** Refuses a target that would mix replayed verdicts into live streams or feed the replay its own output. */
export function checkTargetTopic(
  target: string,
  topics: { inputTopic: string; liveVerdictTopics: readonly string[]; otherLiveTopics: readonly string[] },
  allowLiveTopic: boolean,
): void {
  if (target === topics.inputTopic) {
    throw new LoomwatchError('REPLAY_INVALID', `--to-topic ${target} is the input topic: the replay would read its own verdicts; choose another topic`);
  }
  if (topics.otherLiveTopics.includes(target)) {
    throw new LoomwatchError('REPLAY_INVALID', `--to-topic ${target} carries other messages than verdicts: choose a verdicts topic`);
  }
  if (topics.liveVerdictTopics.includes(target) && !allowLiveTopic) {
    throw new LoomwatchError(
      'REPLAY_INVALID',
      `--to-topic ${target} is a live verdicts topic: alerting and the MES would act on replayed verdicts. ` +
        'Leave --to-topic out (verdicts.replay.<name>.<version>) or, if you mean it, add --allow-live-topic',
    );
  }
}

function startOf(from: FromSpec, marks: Watermarks, byTime: OffsetsByPartition | undefined): number {
  switch (from.kind) {
    case 'earliest':
      return marks.low;
    case 'time':
      return Math.max(marks.low, byTime?.get(marks.partition) ?? marks.high);
    case 'offsets': {
      const offset = from.offsets.get(marks.partition);
      // A partition not named is left out: its range is empty.
      if (offset === undefined) return marks.high;
      if (offset > marks.high) {
        throw new LoomwatchError(
          'REPLAY_INVALID',
          `--from ${marks.partition}:${offset} is past the end of partition ${marks.partition} (high watermark ${marks.high})`,
        );
      }
      // Records before the low watermark are gone (retention); the replay starts at the first one left.
      return Math.max(marks.low, offset);
    }
  }
}

function endOf(to: ToSpec, marks: Watermarks, byTime: OffsetsByPartition | undefined): number {
  return to.kind === 'now' ? marks.high : Math.min(marks.high, byTime?.get(marks.partition) ?? marks.high);
}

/** `[start, end)` of every partition; `fromByTime` / `toByTime` are the broker's offsets for time specs. */
export function resolvePartitions(
  from: FromSpec,
  to: ToSpec,
  watermarks: readonly Watermarks[],
  lookups: { fromByTime?: OffsetsByPartition; toByTime?: OffsetsByPartition } = {},
): ReplayPartition[] {
  if (from.kind === 'offsets') {
    const known = new Set(watermarks.map((m) => m.partition));
    const unknown = [...from.offsets.keys()].filter((p) => !known.has(p));
    if (unknown.length > 0) {
      throw new LoomwatchError('REPLAY_INVALID', `--from names partition(s) ${unknown.join(', ')}, which the input topic does not have (it has ${known.size})`);
    }
  }
  return [...watermarks]
    .sort((a, b) => a.partition - b.partition)
    .map((marks) => {
      const start = startOf(from, marks, lookups.fromByTime);
      return { partition: marks.partition, start, end: Math.max(start, endOf(to, marks, lookups.toByTime)) };
    });
}

export function buildPlan(input: {
  id: string;
  args: ReplayArgs;
  inputTopic: string;
  targetTopic: string;
  partitions: ReplayPartition[];
  modelSha256: string;
  now: Date;
}): ReplayPlan {
  const { args, now } = input;
  return {
    kind: 'replay-plan',
    id: input.id,
    inputTopic: input.inputTopic,
    partitions: input.partitions,
    from: { spec: canonicalFrom(args.from), ...(args.from.kind === 'time' ? { time: args.from.time.toISOString() } : {}) },
    to: { spec: canonicalTo(args.to), time: (args.to.kind === 'time' ? args.to.time : now).toISOString() },
    selection: args.selection,
    model: { ...args.model, sha256: input.modelSha256 },
    targetTopic: input.targetTopic,
    createdAt: now.toISOString(),
  };
}

function sameSelection(a: ReplaySelection, b: ReplaySelection): boolean {
  return JSON.stringify([a.lines, a.cameras, a.frameIds ?? null]) === JSON.stringify([b.lines, b.cameras, b.frameIds ?? null]);
}

/** A selection in a few words: its lines and cameras, and how many frame ids with the first of them. */
function describeSelection(selection: ReplaySelection): string {
  const { frameIds } = selection;
  const ids = frameIds === undefined ? 'no --frame-ids' : `${frameIds.length} --frame-ids (${frameIds.slice(0, 3).join(', ')}${frameIds.length > 3 ? ', …' : ''})`;
  return `selection lines [${selection.lines.join(', ')}] cameras [${selection.cameras.join(', ')}] ${ids}`;
}

/**
 * A stored plan continues only with the arguments it was made from: a `--name` reused for another
 * replay, or a version directory whose ONNX changed since, would mix two replays in one topic.
 */
export function checkPlanContinues(stored: ReplayPlan, wanted: ReplayPlan): void {
  const differences: string[] = [];
  if (stored.inputTopic !== wanted.inputTopic) differences.push(`input topic ${stored.inputTopic}`);
  if (stored.targetTopic !== wanted.targetTopic) differences.push(`target topic ${stored.targetTopic}`);
  if (stored.model.name !== wanted.model.name || stored.model.version !== wanted.model.version) {
    differences.push(`model ${stored.model.name}@${stored.model.version}`);
  }
  if (stored.from.spec !== wanted.from.spec) differences.push(`--from ${stored.from.spec}`);
  if (stored.to.spec !== wanted.to.spec) differences.push(`--to ${stored.to.spec}`);
  if (!sameSelection(stored.selection, wanted.selection)) {
    differences.push(describeSelection(stored.selection));
  }
  if (differences.length > 0) {
    throw new LoomwatchError(
      'REPLAY_INVALID',
      `replay ${stored.id} was started on ${stored.createdAt} with ${differences.join(', ')}: ` +
        'run it again with the same arguments to continue it, or give this one another --name',
    );
  }
  if (stored.model.sha256 !== wanted.model.sha256) {
    throw new LoomwatchError(
      'REPLAY_INVALID',
      `the ONNX of ${stored.model.name}@${stored.model.version} changed since replay ${stored.id} started (sha256 ${stored.model.sha256.slice(0, 12)}… → ` +
        `${wanted.model.sha256.slice(0, 12)}…): registry versions must not change; publish the new weights as a new version and replay with it`,
    );
  }
}
