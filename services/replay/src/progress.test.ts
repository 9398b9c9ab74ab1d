import { describe, expect, it } from 'vitest';
import { ReplayProgress, describeServed, formatDuration, formatProgressLine, formatSummary, summarise } from './progress.js';

const partitions = [
  { partition: 0, start: 100, end: 300 },
  { partition: 1, start: 0, end: 200 },
  { partition: 2, start: 50, end: 50 },
];

describe('replay progress', () => {
  it('counts committed offsets within the plan, from where earlier runs left off', () => {
    let now = 0;
    const progress = new ReplayProgress(partitions, new Map([[0, 150]]), 0, () => now);
    expect(progress.snapshot()).toMatchObject({ done: 50, total: 400, doneThisRun: 0 });
    progress.commit(0, 170);
    progress.commit(0, 160); // an older commit (another member's view) does not move it back
    progress.commit(1, 50);
    now = 35_000;
    expect(progress.snapshot()).toMatchObject({ done: 120, total: 400, doneThisRun: 70, elapsedMs: 35_000 });
    expect(progress.complete).toBe(false);
  });

  it('is complete when every partition is committed to its end, records past the end included', () => {
    const progress = new ReplayProgress(partitions, new Map());
    progress.commit(0, 320);
    expect(progress.complete).toBe(false);
    progress.commit(1, 200);
    expect(progress.complete).toBe(true);
    expect(progress.done).toBe(400);
  });

  it('prints the progress line with rate and ETA', () => {
    const line = formatProgressLine('r1', { done: 120, total: 400, doneThisRun: 120, elapsedMs: 117_647, counts: { decided: 0, deadLettered: 0, skipped: 0 } });
    expect(line).toBe('replay r1: 120/400 frames (30.0 %) · 1.02 frames/s · ETA 4m35s');
    expect(formatProgressLine('r1', { done: 0, total: 400, doneThisRun: 0, elapsedMs: 2000, counts: { decided: 0, deadLettered: 0, skipped: 0 } })).toContain(
      'ETA ?',
    );
  });

  it('names the version that decides and its precision, and the version asked for when its INT8 variant decides', () => {
    const snapshot = { done: 120, total: 400, doneThisRun: 120, elapsedMs: 117_647, counts: { decided: 120, deadLettered: 0, skipped: 0 } };
    const model = { name: 'draem-aitex', version: '1.1.0-int8.2' };
    const served = { precision: 'int8', requested: '1.1.0' } as const;
    expect(formatProgressLine('r1', snapshot, describeServed(model, served))).toMatch(/^replay r1 \(draem-aitex@1\.1\.0-int8\.2 int8 for 1\.1\.0\): 120\/400 frames/);
    const summary = summarise('r1', 'stopped', { targetTopic: 'verdicts.replay.x', model }, snapshot, 1000, served);
    expect(summary).toMatchObject({ model: 'draem-aitex@1.1.0-int8.2', precision: 'int8', requested: '1.1.0' });
    expect(formatSummary(summary)).toContain('(verdicts of draem-aitex@1.1.0-int8.2 int8 for 1.1.0 in verdicts.replay.x)');
    expect(describeServed({ name: 'draem-aitex', version: '1.1.0' }, { precision: 'fp32' })).toBe('draem-aitex@1.1.0 fp32');
  });

  it('writes durations the way people read them', () => {
    expect(formatDuration(12_400)).toBe('12s');
    expect(formatDuration(271_000)).toBe('4m31s');
    expect(formatDuration(3_720_000)).toBe('1h02m');
  });

  it('summarises a run: selected is decided plus dead-lettered', () => {
    const summary = summarise(
      'r1',
      'complete',
      { targetTopic: 'verdicts.replay.m.1', model: { name: 'm', version: '1' } },
      { done: 40, total: 40, doneThisRun: 40, elapsedMs: 20_000, counts: { decided: 30, deadLettered: 2, skipped: 8 } },
      21_000,
    );
    expect(summary).toMatchObject({ selected: 32, decided: 30, deadLettered: 2, skipped: 8, framesPerSec: 2, wallMs: 21_000 });
    expect(formatSummary(summary)).toContain('32 selected (30 decided, 2 dead-lettered), 8 skipped');
    expect(formatSummary({ ...summary, status: 'already-complete' })).toContain('replay r1 is complete');
    expect(formatSummary({ ...summary, status: 'stopped', done: 12 })).toContain('stopped at 12/40 frames: run the same command again');
  });
});
