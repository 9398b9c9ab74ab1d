import { describe, expect, it } from 'vitest';
import type { ReplayCheck } from '@loomwatch/contracts';
import { GuardConfig, judgeCandidate } from './guard.js';

function check(normals: [number, number, number], defects: [number, number, number], frames = normals[0] + defects[0]): ReplayCheck {
  const count = ([reviewed, parentFlagged, candidateFlagged]: [number, number, number]) => ({ reviewed, parentFlagged, candidateFlagged });
  return { replayTopic: 'verdicts.replay.m.1.0.0', report: { bucket: 'loomwatch-datasets', key: 'retrain/r/report/index.html' }, frames, normals: count(normals), defects: count(defects) };
}

const canary = GuardConfig.parse({ stage: 'canary', canaryCameras: ['line-1:cam-2'] });

describe('the promotion guard', () => {
  it('promotes to the configured canary a candidate that flags fewer reviewed normals and catches every defect the parent caught', () => {
    expect(judgeCandidate(check([6, 5, 1], [2, 2, 2]), canary)).toEqual({ promote: true, canary: { lines: [], cameras: ['line-1:cam-2'] } });
  });

  it('refuses as many flagged normals (not strictly fewer) and a lost defect, each with its figures', () => {
    expect(judgeCandidate(check([6, 3, 3], [4, 3, 2]), canary)).toEqual({
      promote: false,
      reasons: [
        'guard refused: flags 3 of 6 reviewed normals, not fewer than the 3 the reviewed verdicts flagged',
        'guard refused: catches 2 of 4 reviewed defects, fewer than the 3 the reviewed verdicts caught',
      ],
    });
  });

  it('refuses a candidate above maxNormalFlagRatio, and a replay of too few frames', () => {
    const strict = GuardConfig.parse({ stage: 'canary', canaryLines: ['line-2'], maxNormalFlagRatio: 0.1, minFrames: 20 });
    expect(judgeCandidate(check([10, 5, 2], [0, 0, 0]), strict)).toEqual({
      promote: false,
      reasons: ['guard refused: the replay decided 10 reviewed frames, fewer than guard.minFrames 20', 'guard refused: still flags 20.0 % of the reviewed normals, above guard.maxNormalFlagRatio 10.0 %'],
    });
  });

  it('without a guard, never promotes and says an engineer does', () => {
    expect(judgeCandidate(check([6, 5, 0], [2, 2, 2]), GuardConfig.parse({}))).toEqual({ promote: false, reasons: [expect.stringMatching(/^no guard configured/)] });
  });

  it('refuses a canary stage that names no line or camera, and a camera without its line', () => {
    expect(() => GuardConfig.parse({ stage: 'canary' })).toThrow(/guard.stage canary needs guard.canaryLines or guard.canaryCameras/);
    expect(GuardConfig.safeParse({ stage: 'canary', canaryCameras: ['cam-2'] }).success).toBe(false);
  });
});
