/** Crafted verdicts and frames for the report's unit tests: six frames on two lines, hand-checked figures in the tests. */
import { FrameCatalog, LatestVerdicts } from './report-join.js';
import type { ReportInputs } from './report-figures.js';
import type { FeedbackLabel } from '@loomwatch/contracts';
import type { VerdictPoint } from './report-model.js';
import type { ReviewedInput } from './report-reviewed.js';

export function point(frameId: string, verdict: 'ok' | 'defect', score: number, overrides: Partial<VerdictPoint> = {}): VerdictPoint {
  return {
    frameId,
    lineId: 'line-1',
    cameraId: 'cam-1',
    verdict,
    score,
    normalizedScore: score,
    model: 'draem-aitex@1.0.0',
    falseAlarmRate: 0.02,
    decidedAt: '2026-11-22T10:00:00.000Z',
    ...overrides,
  };
}

/**
 * | frame | line:camera   | baseline     | candidate      | Δ score | defect | fabric  |
 * | f1    | line-1:cam-1  | ok 0.10      | ok 0.20        | +0.10   | 000    | 05      |
 * | f2    | line-1:cam-1  | ok 0.30      | defect 0.70    | +0.40   | 002    | 05      |
 * | f3    | line-1:cam-2  | defect 0.80  | ok 0.40        | −0.40   | 002    | 06      |
 * | f4    | line-2:cam-1  | defect 0.90  | defect 0.95    | +0.05   | 010    | 06      |
 * | f5    | line-2:cam-1  | ok 0.10      | —              |         | 000    | 05      |
 * | f6    | line-2:cam-1  | —            | ok 0.20        |         | (no frame event)  |
 * The candidate also holds an earlier, superseded verdict of f2 (ok 0.25), read after the kept one.
 */
export function craftedInputs(): ReportInputs {
  // The candidate's card states no rate (no operating points); the baseline was judged at 0.02.
  const candidateModel = { model: 'draem-aitex@1.2.0', falseAlarmRate: null, decidedAt: '2026-11-23T08:00:00.000Z' };
  const candidate = new LatestVerdicts();
  const baseline = new LatestVerdicts();
  const line2 = { lineId: 'line-2' };
  baseline.add(point('f1', 'ok', 0.1));
  baseline.add(point('f2', 'ok', 0.3));
  baseline.add(point('f3', 'defect', 0.8, { cameraId: 'cam-2' }));
  baseline.add(point('f4', 'defect', 0.9, line2));
  baseline.add(point('f5', 'ok', 0.1, line2));
  candidate.add(point('f1', 'ok', 0.2, candidateModel));
  candidate.add(point('f2', 'defect', 0.7, candidateModel));
  candidate.add(point('f3', 'ok', 0.4, { ...candidateModel, cameraId: 'cam-2' }));
  candidate.add(point('f4', 'defect', 0.95, { ...candidateModel, ...line2 }));
  candidate.add(point('f6', 'ok', 0.2, { ...candidateModel, ...line2 }));
  candidate.add(point('f2', 'ok', 0.25, { ...candidateModel, decidedAt: '2026-11-23T07:00:00.000Z' }));
  const catalog = new FrameCatalog();
  catalog.add('f1', { defectCode: '000', fabricCode: '05' });
  catalog.add('f2', { defectCode: '002', fabricCode: '05' });
  catalog.add('f3', { defectCode: '002', fabricCode: '06' });
  catalog.add('f4', { defectCode: '010', fabricCode: '06' });
  catalog.add('f5', { defectCode: '000', fabricCode: '05' });
  return {
    candidate: { topic: 'verdicts.replay.draem-aitex.1.2.0', verdicts: candidate, invalid: 1 },
    baseline: { topic: 'verdicts.v1', verdicts: baseline, invalid: 0 },
    frames: { topic: 'frames.v1', catalog, invalid: 2 },
    generatedAt: new Date('2026-11-23T09:00:00.000Z'),
  };
}

/**
 * Current labels of the crafted frames, and of one frame (f7) neither side decided:
 * | frame | label           | kind   | baseline | candidate | changed          |
 * | f1    | ok-confirmed    | normal | ok       | ok        |                  |
 * | f2    | false-alarm     | normal | ok       | defect    | broken, Δ +0.40  |
 * | f3    | false-alarm     | normal | defect   | ok        | fixed,  Δ −0.40  |
 * | f4    | defect-confirmed| defect | defect   | defect    |                  |
 * | f5    | missed-defect   | defect | ok       | —         | (no candidate)   |
 * | f6    | ok-confirmed    | normal | —        | ok        | (no baseline)    |
 * | f7    | missed-defect   | defect | —        | —         | (neither)        |
 */
export function craftedReviews(): ReviewedInput {
  const labels = new Map<string, FeedbackLabel>([
    ['f1', 'ok-confirmed'],
    ['f2', 'false-alarm'],
    ['f3', 'false-alarm'],
    ['f4', 'defect-confirmed'],
    ['f5', 'missed-defect'],
    ['f6', 'ok-confirmed'],
    ['f7', 'missed-defect'],
  ]);
  return { topic: 'feedback.v1', labels, messages: 9, invalid: 1 };
}
