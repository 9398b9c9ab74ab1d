import { describe, expect, it } from 'vitest';
import type { RetrainRequest, Verdict } from '@loomwatch/contracts';
import { checkText, countByFabric, figureTable, outcomesOf, progressLine, renderMarkdown, secondsSince, stepOf, type LoopResult, type StepSeen } from './report.js';

const verdict = (frameId: string, fabricCode: string | undefined, flagged: boolean): Verdict => ({ frameId, verdict: flagged ? 'defect' : 'ok', ...(fabricCode === undefined ? {} : { fabricCode }) }) as Verdict;

const step = (key: string, status: RetrainRequest['status'], at: string): StepSeen =>
  stepOf(key, { kind: 'retrain-request', id: 'r1', model: 'patchcore-aitex', reason: { kind: 'manual' }, requestedAt: at, requestedBy: 'erin', status, updatedAt: at });

describe('the loop report', () => {
  it('counts frames, flagged and reviewed per fabric, a frame without a fabric as "none"', () => {
    const verdicts = [verdict('a', '01', true), verdict('b', '01', false), verdict('c', '05', false), verdict('d', undefined, true)];
    const labels = new Map([
      ['a', 'false-alarm'],
      ['b', 'ok-confirmed'],
    ]);
    expect(countByFabric(verdicts, labels)).toEqual([
      { fabric: '01', frames: 2, flagged: 1, reviewed: 2, falseAlarms: 1, okConfirmed: 1 },
      { fabric: '05', frames: 1, flagged: 0, reviewed: 0, falseAlarms: 0, okConfirmed: 0 },
      { fabric: 'none', frames: 1, flagged: 1, reviewed: 0, falseAlarms: 0, okConfirmed: 0 },
    ]);
  });

  it('times each step\'s first record from the last review (negative before it) and keeps each key\'s last step as its outcome', () => {
    const steps = [
      step('retrain:m:01', { step: 'requested' }, '2026-12-07T10:00:00.000Z'),
      step('retrain:m:01', { step: 'snapshot', snapshot: 'a'.repeat(64) }, '2026-12-07T10:00:02.000Z'),
      step('retrain:m:01', { step: 'refit', snapshot: 'a'.repeat(64), version: 'm@1.0.0-refit.aaaaaaaa' }, '2026-12-07T10:00:03.000Z'),
      step('retrain:m:01', { step: 'candidate', snapshot: 'a'.repeat(64), version: 'm@1.0.0-refit.aaaaaaaa' }, '2026-12-07T10:01:03.500Z'),
      step('retrain:m:01', { step: 'shadow', snapshot: 'a'.repeat(64), version: 'm@1.0.0-refit.aaaaaaaa', revision: 2 }, '2026-12-07T10:01:04.000Z'),
      step('retrain:m:05', { step: 'refused', snapshot: 'b'.repeat(64), version: 'm@1.0.0-refit.bbbbbbbb', reasons: ['no held-out false alarm'] }, '2026-12-07T10:02:00.000Z'),
    ];
    // The request came a second before the last review: negative; each step timed by its first record.
    expect(secondsSince('2026-12-07T10:00:01.000Z', steps)).toEqual({ requested: -1, snapshot: 1, refit: 2, candidate: 62.5, shadow: 63, refused: 119 });
    expect(secondsSince(undefined, steps)).toEqual({});
    expect(outcomesOf(steps)).toEqual([
      { key: 'retrain:m:01', step: 'shadow', version: 'm@1.0.0-refit.aaaaaaaa' },
      { key: 'retrain:m:05', step: 'refused', version: 'm@1.0.0-refit.bbbbbbbb', reasons: ['no held-out false alarm'] },
    ]);
    expect(step('k', { step: 'failed', code: 'REFIT_FAILED', message: 'exit 2' }, '2026-12-07T10:00:00Z')).toMatchObject({ step: 'failed', code: 'REFIT_FAILED', message: 'exit 2' });
  });

  it('shows progress with an ETA from the rate so far', () => {
    expect(progressLine('decided', 10, 40, 20)).toBe('decided 10/40  20 s  ETA 60 s');
    expect(progressLine('decided', 0, 40, 5)).toBe('decided 0/40  5 s  ETA ?');
    expect(progressLine('decided', 40, 40, 80)).toBe('decided 40/40  80 s  done');
  });

  it('writes the summary with the timings, the outcome and what was not measured', () => {
    const result: LoopResult = {
      run: 'loop-1',
      startedAt: '2026-12-07T10:00:00.000Z',
      parent: 'patchcore-aitex@1.2.0',
      registry: '/tmp/r',
      falseAlarmsPolicy: 1,
      fabrics: [{ fabric: '01', frames: 3, flagged: 1, reviewed: 3, falseAlarms: 1, okConfirmed: 2 }],
      steps: [step('retrain:m:01', { step: 'refused', snapshot: 'a'.repeat(64), version: 'm@1-refit', reasons: ['a | b'] }, '2026-12-07T10:00:09.000Z')],
      sinceLastReview: { refused: 9 },
      outcomes: [{ key: 'retrain:m:01', step: 'refused', version: 'm@1-refit' }],
      heldOut: { ran: false, why: 'no candidate was promoted' },
      phases: { stream: 12.5 },
      todo: ['loop-eval'],
    };
    const markdown = renderMarkdown(result);
    expect(markdown).toContain('| 01 | 3 | 1 | 3 | 1 | 2 |');
    expect(markdown).toContain('| last review → candidate (or refused) | 9 s |');
    expect(markdown).toContain('| last review → candidate in shadow | — |');
    expect(markdown).toContain('reasons: a \\| b');
    expect(markdown).toContain('Outcome: retrain:m:01 → refused (m@1-refit).');
    expect(markdown).toContain('Held-out figures: not measured — no candidate was promoted');
    expect(markdown).toContain('- loop-eval');
  });

  it('shows loop-eval\'s totals as false alarms and detection with their intervals, before and after', () => {
    const total = (fa: number, det: number) => ({ falseAlarms: { count: fa, frames: 4, rate: fa / 4, low: 0.05, high: 0.7 }, detected: { count: det, frames: 7, rate: det / 7, low: 0.2, high: 0.9 } });
    const rows = figureTable({ heldOut: { parent: total(1, 5), candidate: total(0, 5) }, verdict: { falseAlarmsFewer: true, detectionNotLower: true } });
    expect(rows).toContain('| held-out validation frames | parent | 1/4 (25.0 %, 95 % 5.0 %–70.0 %) | 5/7 (71.4 %, 95 % 20.0 %–90.0 %) |');
    expect(rows).toContain('| held-out validation frames | candidate | 0/4 (0.0 %, 95 % 5.0 %–70.0 %) | 5/7 (71.4 %, 95 % 20.0 %–90.0 %) |');
    expect(rows.at(-1)).toBe('verdict: `{"falseAlarmsFewer":true,"detectionNotLower":true}`');
  });

  it('says what the replay over the reviewed frames found, parent → candidate', () => {
    const check = { replayTopic: 'verdicts.replay.m.1', report: { bucket: 'b', key: 'retrain/r1/report/index.html' }, frames: 57, normals: { reviewed: 57, parentFlagged: 10, candidateFlagged: 2 }, defects: { reviewed: 0, parentFlagged: 0, candidateFlagged: 0 } };
    const seen = step('k', { step: 'replayed', snapshot: 'a'.repeat(64), version: 'm@1-refit', revision: 2, check, reasons: [] }, '2026-12-07T10:00:00Z');
    expect(seen.check).toEqual(check);
    expect(checkText(check)).toBe('replay of 57 reviewed frames: normals flagged 10 → 2 of 57, defects caught 0 → 0 of 0 (report s3://b/retrain/r1/report/index.html)');
  });
});
