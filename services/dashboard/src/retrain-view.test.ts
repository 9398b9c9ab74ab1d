import { describe, expect, it } from 'vitest';
import { candidateOf, promotableStages, reasonText, replayCheckOf, replayCounts, retrainsInOrder, stepLine } from './retrain-view.js';
import { replayCheckFixture, retrainFixture, retrainStatusFixture } from './testing.js';

const marks = (line: ReturnType<typeof stepLine>) => line.steps.map((s) => `${s.step}:${s.mark}`).join(' ');

describe('the model panel\'s reading of a retrain request', () => {
  it('marks the steps passed, the one reached and those to come', () => {
    expect(marks(stepLine(retrainStatusFixture('requested')))).toBe('requested:reached snapshot:todo refit:todo candidate:todo shadow:todo replayed:todo promoted:todo');
    expect(marks(stepLine(retrainStatusFixture('shadow')))).toBe('requested:done snapshot:done refit:done candidate:done shadow:reached replayed:todo promoted:todo');
    expect(marks(stepLine(retrainStatusFixture('promoted')))).toBe('requested:done snapshot:done refit:done candidate:done shadow:done replayed:done promoted:reached');
    expect(stepLine(retrainStatusFixture('replayed')).end).toBeUndefined();
  });

  it('ends a refused line after the refit with the gate\'s reasons, and a failed one with its code and message', () => {
    const refused = stepLine(retrainStatusFixture('refused'));
    expect(marks(refused)).toBe('requested:done snapshot:done refit:done candidate:todo shadow:todo replayed:todo promoted:todo');
    expect(refused.end).toEqual({ step: 'refused', reasons: ['validation image AUROC 0.81 < parent 0.86'] });
    const failed = stepLine(retrainStatusFixture('failed'));
    expect(failed.steps.every((s) => s.mark === 'todo')).toBe(true);
    expect(failed.end).toEqual({ step: 'failed', code: 'REFIT_FAILED', message: 'the refit exited 2: out of memory' });
  });

  it('says why the refit was asked for', () => {
    expect(reasonText({ kind: 'false-alarms', count: 12, to: '2026-12-07T10:00:00Z' }, 'retrain-policy')).toBe('12 false alarms reviewed');
    expect(reasonText({ kind: 'false-alarms', count: 1, to: '2026-12-07T10:00:00Z' }, 'retrain-policy')).toBe('1 false alarm reviewed');
    expect(reasonText({ kind: 'drift', alertId: 'drift-line-1-05' }, 'retrain-policy')).toBe('drift alert drift-line-1-05');
    expect(reasonText({ kind: 'manual' }, 'Erin Engineer')).toBe('asked by Erin Engineer');
  });

  it('names the candidate from the refit on, the replay\'s counts once replayed, and the stages an engineer may promote to', () => {
    expect(candidateOf(retrainStatusFixture('snapshot'))).toBeUndefined();
    expect(candidateOf(retrainStatusFixture('refit'))).toBe('1.3.0');
    expect(replayCheckOf(retrainStatusFixture('shadow'))).toBeUndefined();
    expect(replayCheckOf(retrainStatusFixture('promoted'))).toEqual(replayCheckFixture());
    expect(replayCounts(replayCheckFixture())).toEqual({ normals: 'normals flagged, parent → candidate: 12 → 3 of 40 reviewed', defects: 'defects caught, parent → candidate: 7 → 7 of 8 reviewed' });
    expect(promotableStages(retrainStatusFixture('replayed'))).toEqual(['canary', 'production']);
    expect(promotableStages(retrainStatusFixture('promoted'))).toEqual(['production']);
    expect(promotableStages({ ...retrainStatusFixture('promoted'), stage: 'production' } as ReturnType<typeof retrainStatusFixture>)).toEqual([]);
    expect(promotableStages(retrainStatusFixture('shadow'))).toEqual([]);
  });

  it('lists running requests first, then the latest update first', () => {
    const at = (minutes: number) => new Date(Date.parse('2026-12-07T10:00:00Z') + minutes * 60_000);
    const order = retrainsInOrder({
      'retrain:m:old': retrainFixture(retrainStatusFixture('replayed'), { fabric: '01', at: at(0) }),
      'retrain:m:new': retrainFixture(retrainStatusFixture('failed'), { fabric: '02', at: at(5) }),
      'retrain:m:running': retrainFixture(retrainStatusFixture('refit'), { fabric: '03', at: at(-10) }),
    });
    expect(order.map((r) => r.key)).toEqual(['retrain:m:running', 'retrain:m:new', 'retrain:m:old']);
  });
});
