import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_MESSAGE_BYTES, ReplayPlan, encodeMessage, type ReplayPlan as Plan } from '@loomwatch/contracts';
import type { Watermarks } from '@loomwatch/kafka';
import { parseReplayArgs, type ReplayArgs } from './args.js';
import { buildPlan, checkPlanContinues, checkTargetTopic, defaultTargetTopic, replayId, resolvePartitions } from './plan.js';

const marks: Watermarks[] = [
  { partition: 1, low: 10, high: 50 },
  { partition: 0, low: 0, high: 40 },
];
const SHA = 'a'.repeat(64);

function frameIdsFile(ids: readonly string[]): string {
  const file = join(mkdtempSync(join(tmpdir(), 'replay-plan-')), 'ids.txt');
  writeFileSync(file, ids.join('\n'));
  return file;
}

function planFor(argv: string[], partitions = [{ partition: 0, start: 0, end: 4 }]): Plan {
  const args = parseReplayArgs(['--model', 'draem-random@0.0.2', ...argv]) as ReplayArgs;
  const target = defaultTargetTopic(args.model);
  return buildPlan({ id: replayId(args, 'frames.v1', target), args, inputTopic: 'frames.v1', targetTopic: target, partitions, modelSha256: SHA, now: new Date('2026-03-01T10:00:00Z') });
}

describe('replay plan resolution', () => {
  it('starts at the broker offset of --from and ends at the high watermark by default', () => {
    const from = { kind: 'time', time: new Date('2026-03-01T08:00:00Z') } as const;
    const fromByTime = new Map([
      [0, 12],
      [1, 50], // no record at or after the time: the broker answers the high watermark
    ]);
    expect(resolvePartitions(from, { kind: 'now' }, marks, { fromByTime })).toEqual([
      { partition: 0, start: 12, end: 40 },
      { partition: 1, start: 50, end: 50 },
    ]);
  });

  it('ends at the broker offset of --to, never before the start', () => {
    const toByTime = new Map([
      [0, 30],
      [1, 5],
    ]);
    expect(resolvePartitions({ kind: 'earliest' }, { kind: 'time', time: new Date() }, marks, { toByTime })).toEqual([
      { partition: 0, start: 0, end: 30 },
      { partition: 1, start: 10, end: 10 },
    ]);
  });

  it('replays only the partitions an offset spec names, from the first record retention kept', () => {
    const from = { kind: 'offsets', offsets: new Map([[1, 3]]) } as const;
    expect(resolvePartitions(from, { kind: 'now' }, marks)).toEqual([
      { partition: 0, start: 40, end: 40 },
      { partition: 1, start: 10, end: 50 },
    ]);
  });

  it('refuses offsets past a partition end and partitions the topic does not have', () => {
    expect(() => resolvePartitions({ kind: 'offsets', offsets: new Map([[0, 41]]) }, { kind: 'now' }, marks)).toThrow(/past the end of partition 0/);
    expect(() => resolvePartitions({ kind: 'offsets', offsets: new Map([[7, 0]]) }, { kind: 'now' }, marks)).toThrow(/partition\(s\) 7/);
  });

  it('builds a plan the contract accepts, with the resolved times', () => {
    const plan = planFor(['--from', '2026-03-01T08:00:00Z', '--line', 'line-1']);
    expect(ReplayPlan.parse(plan)).toEqual(plan);
    expect(plan.from).toEqual({ spec: '2026-03-01T08:00:00.000Z', time: '2026-03-01T08:00:00.000Z' });
    expect(plan.to).toEqual({ spec: 'now', time: '2026-03-01T10:00:00.000Z' });
    expect(plan.targetTopic).toBe('verdicts.replay.draem-random.0.0.2');
  });
});

describe('replay id', () => {
  it('is the same for the same replay however it is spelt, and differs for another selection', () => {
    const id = (argv: string[]): string => replayId(parseReplayArgs(['--model', 'm@1.0.0', ...argv]) as ReplayArgs, 'frames.v1', 'verdicts.replay.m.1.0.0');
    const a = id(['--from', '2026-03-01T09:00:00+01:00', '--line', 'b', '--line', 'a', '--workers', '2']);
    expect(a).toMatch(/^[0-9a-f]{12}$/);
    expect(id(['--from', '2026-03-01T08:00:00Z', '--line', 'a', '--line', 'b', '--to', 'now'])).toBe(a);
    expect(id(['--from', '2026-03-01T08:00:00Z', '--line', 'a'])).not.toBe(a);
    expect(id(['--from', 'earliest', '--name', 'nightly-1'])).toBe('nightly-1');
  });

  it('differs for another set of --frame-ids and not for the same set listed in another order', () => {
    const id = (argv: string[]): string => replayId(parseReplayArgs(['--model', 'm@1.0.0', '--from', 'earliest', ...argv]) as ReplayArgs, 'frames.v1', 'verdicts.replay.m.1.0.0');
    const a = id(['--frame-ids', frameIdsFile(['f-1', 'f-2'])]);
    expect(id(['--frame-ids', frameIdsFile(['f-2', 'f-1', 'f-1'])])).toBe(a);
    expect(id(['--frame-ids', frameIdsFile(['f-1', 'f-3'])])).not.toBe(a);
    expect(id([])).not.toBe(a);
  });
});

describe('replay target topic', () => {
  const topics = { inputTopic: 'frames.v1', liveVerdictTopics: ['verdicts.v1'], otherLiveTopics: ['frames.dlq.v1', 'control.v1'] };

  it('refuses the live verdicts topic unless asked explicitly, saying how', () => {
    expect(() => checkTargetTopic('verdicts.v1', topics, false)).toThrow(/--allow-live-topic/);
    expect(() => checkTargetTopic('verdicts.v1', topics, true)).not.toThrow();
  });

  it('refuses the input topic and topics of other messages even when asked', () => {
    expect(() => checkTargetTopic('frames.v1', topics, true)).toThrow(/input topic/);
    expect(() => checkTargetTopic('control.v1', topics, true)).toThrow(/other messages/);
    expect(() => checkTargetTopic('verdicts.replay.x.1', topics, false)).not.toThrow();
  });
});

describe('a stored replay plan', () => {
  it('continues with the same arguments', () => {
    const stored = planFor(['--from', 'earliest']);
    expect(() => checkPlanContinues(stored, planFor(['--from', 'earliest']))).not.toThrow();
  });

  it('refuses a reused --name with other arguments, naming what differs', () => {
    const stored = planFor(['--from', 'earliest', '--name', 'n1']);
    expect(() => checkPlanContinues(stored, planFor(['--from', 'earliest', '--name', 'n1', '--camera', 'cam-2']))).toThrow(
      /replay n1 was started .* with selection lines \[\] cameras \[\] no --frame-ids: run it again with the same arguments/,
    );
  });

  it('keeps the --frame-ids in the plan and refuses a rerun under the same --name with another set', () => {
    const stored = planFor(['--from', 'earliest', '--name', 'n2', '--frame-ids', frameIdsFile(['f-1', 'f-2'])]);
    expect(ReplayPlan.parse(stored).selection.frameIds).toEqual(['f-1', 'f-2']);
    expect(() => checkPlanContinues(stored, planFor(['--from', 'earliest', '--name', 'n2', '--frame-ids', frameIdsFile(['f-2', 'f-1'])]))).not.toThrow();
    expect(() => checkPlanContinues(stored, planFor(['--from', 'earliest', '--name', 'n2', '--frame-ids', frameIdsFile(['f-1', 'f-3'])]))).toThrow(
      /replay n2 was started .* with selection lines \[\] cameras \[\] 2 --frame-ids \(f-1, f-2\): run it again/,
    );
    expect(() => checkPlanContinues(stored, planFor(['--from', 'earliest', '--name', 'n2']))).toThrow(/2 --frame-ids/);
  });

  it('fits a control message with as many frame ids as --frame-ids accepts, over many partitions', () => {
    // Just under the ids' byte budget: 6150 ids of 127 characters (130 bytes each in the plan's JSON).
    const ids = Array.from({ length: 6150 }, (_, i) => `${String(i).padStart(6, '0')}-${'x'.repeat(120)}`);
    const partitions = Array.from({ length: 1000 }, (_, partition) => ({ partition, start: 1_000_000, end: 2_000_000 }));
    const plan = planFor(['--from', 'earliest', '--frame-ids', frameIdsFile(ids)], partitions);
    expect(encodeMessage(ReplayPlan, plan).length).toBeLessThan(MAX_MESSAGE_BYTES);
  });

  it('refuses a version whose ONNX changed since the replay started', () => {
    const stored = planFor(['--from', 'earliest']);
    const changed = { ...stored, model: { ...stored.model, sha256: 'b'.repeat(64) } };
    expect(() => checkPlanContinues(stored, changed)).toThrow(/changed since replay/);
  });
});
