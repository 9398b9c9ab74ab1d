import { describe, expect, it } from 'vitest';
import { LoomwatchError, RetrainRequest, manualRetrainRequest, type ReplayCheck, type RetrainStep } from '@loomwatch/contracts';
import { GuardConfig } from './guard.js';
import { candidateVersion, runRequest, type RefitOutcome, type RetrainSteps } from './runner.js';

/** What the fake replay finds: the candidate flags 1 of 6 reviewed normals (the reviewed verdicts 5) and catches both defects. */
function replayCheck(overrides: Partial<Pick<ReplayCheck, 'normals' | 'defects' | 'frames'>> = {}): ReplayCheck {
  return {
    replayTopic: 'verdicts.replay.patchcore-aitex.1.2.0-refit.abcdef01',
    report: { bucket: 'loomwatch-datasets', key: 'retrain/r/report/index.html' },
    frames: 8,
    normals: { reviewed: 6, parentFlagged: 5, candidateFlagged: 1 },
    defects: { reviewed: 2, parentFlagged: 2, candidateFlagged: 2 },
    ...overrides,
  };
}

function fakeSteps(refit: RefitOutcome | Error = { passed: true }, replay: ReplayCheck | Error = replayCheck()): RetrainSteps & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    snapshot: () => (calls.push('snapshot'), Promise.resolve('abcdef0123456789')),
    parent: (model) => (calls.push('parent'), Promise.resolve(`${model}@1.2.0`)),
    refit: (input) => (calls.push(`refit ${input.parent} ${input.version}`), refit instanceof Error ? Promise.reject(refit) : Promise.resolve(refit)),
    shadow: (_model, version) => (calls.push(`shadow ${version}`), Promise.resolve(7)),
    replay: (input) => (calls.push(`replay ${input.version} ${input.snapshot}`), replay instanceof Error ? Promise.reject(replay) : Promise.resolve(replay)),
    canary: (_model, version, where) => (calls.push(`canary ${version} lines ${where.lines.join(',')} cameras ${where.cameras.join(',')}`), Promise.resolve(8)),
  };
}

async function run(request: RetrainRequest, steps: RetrainSteps, guard?: GuardConfig): Promise<{ published: RetrainRequest[]; end: RetrainRequest }> {
  const published: RetrainRequest[] = [];
  const end = await runRequest(request, steps, (r) => (published.push(RetrainRequest.parse(r)), Promise.resolve()), guard === undefined ? {} : { guard });
  return { published, end };
}

const canaryGuard = GuardConfig.parse({ stage: 'canary', canaryLines: ['line-2'] });
const atShadow = (request: RetrainRequest): RetrainRequest =>
  RetrainRequest.parse({ ...request, status: { step: 'shadow', snapshot: 'abcdef0123456789', version: 'patchcore-aitex@1.2.0-refit.abcdef01', revision: 7 } });

const requested = manualRetrainRequest('patchcore-aitex', '01', 'eve', new Date('2026-12-07T12:00:00Z'));
const steps = (published: RetrainRequest[]): RetrainStep[] => published.map((r) => r.status.step);

describe('a retrain request', () => {
  it('goes requested → snapshot → refit → candidate → shadow → replayed without a guard, publishing each step', async () => {
    const fake = fakeSteps();
    const { published, end } = await run(requested, fake);
    expect(steps(published)).toEqual(['snapshot', 'refit', 'candidate', 'shadow', 'replayed']);
    expect(end.status).toEqual({
      step: 'replayed',
      snapshot: 'abcdef0123456789',
      version: 'patchcore-aitex@1.2.0-refit.abcdef01',
      revision: 7,
      check: replayCheck(),
      reasons: ['no guard configured (guard.stage none): an engineer promotes it with loomwatch rollout set'],
    });
    expect(fake.calls).toEqual([
      'snapshot',
      'parent',
      'refit patchcore-aitex@1.2.0 patchcore-aitex@1.2.0-refit.abcdef01',
      'shadow patchcore-aitex@1.2.0-refit.abcdef01',
      'replay patchcore-aitex@1.2.0-refit.abcdef01 abcdef0123456789',
    ]);
  });

  it('with the canary guard, promotes a candidate that flags fewer reviewed normals and catches as many defects', async () => {
    const fake = fakeSteps();
    const { published, end } = await run(atShadow(requested), fake, canaryGuard);
    expect(steps(published)).toEqual(['promoted']);
    expect(end.status).toEqual({ step: 'promoted', snapshot: 'abcdef0123456789', version: 'patchcore-aitex@1.2.0-refit.abcdef01', revision: 8, check: replayCheck(), stage: 'canary', by: 'retrain-guard' });
    expect(fake.calls).toEqual(['replay patchcore-aitex@1.2.0-refit.abcdef01 abcdef0123456789', 'canary patchcore-aitex@1.2.0-refit.abcdef01 lines line-2 cameras ']);
  });

  it('with the canary guard, stops at replayed with the figures when the candidate misses a reviewed defect', async () => {
    const fake = fakeSteps({ passed: true }, replayCheck({ defects: { reviewed: 2, parentFlagged: 2, candidateFlagged: 1 } }));
    const { published, end } = await run(atShadow(requested), fake, canaryGuard);
    expect(steps(published)).toEqual(['replayed']);
    expect(end.status).toMatchObject({ step: 'replayed', revision: 7, reasons: ['guard refused: catches 1 of 2 reviewed defects, fewer than the 2 the reviewed verdicts caught'] });
    expect(fake.calls.some((call) => call.startsWith('canary'))).toBe(false);
  });

  it('ends failed when the replay fails, never promoting', async () => {
    const fake = fakeSteps({ passed: true }, new LoomwatchError('RETRAIN_INVALID', 'loomwatch replay run failed (exit 2): --frame-ids: no such file'));
    const { published, end } = await run(atShadow(requested), fake, canaryGuard);
    expect(steps(published)).toEqual(['failed']);
    expect(end.status).toEqual({ step: 'failed', code: 'RETRAIN_INVALID', message: 'loomwatch replay run failed (exit 2): --frame-ids: no such file' });
    expect(fake.calls.some((call) => call.startsWith('canary'))).toBe(false);
  });

  it('ends refused with the gate\'s reasons, and never shadows', async () => {
    const fake = fakeSteps({ passed: false, reasons: ['validation AUROC fell 0.03'] });
    const { published, end } = await run(requested, fake);
    expect(steps(published)).toEqual(['snapshot', 'refit', 'refused']);
    expect(end.status).toMatchObject({ step: 'refused', reasons: ['validation AUROC fell 0.03'] });
    expect(fake.calls.some((call) => call.startsWith('shadow') || call.startsWith('replay'))).toBe(false);
  });

  it('ends failed with the code and message of a step that throws', async () => {
    const { published, end } = await run(requested, fakeSteps(new LoomwatchError('REFIT_FAILED', 'exit 2: no manifest.json')));
    expect(steps(published)).toEqual(['snapshot', 'refit', 'failed']);
    expect(end.status).toEqual({ step: 'failed', code: 'REFIT_FAILED', message: 'exit 2: no manifest.json' });
  });

  it('continues a request from the step it stands at, without redoing the snapshot', async () => {
    const fake = fakeSteps();
    const atCandidate = RetrainRequest.parse({ ...requested, status: { step: 'candidate', snapshot: 'abcdef0123456789', version: candidateVersion('patchcore-aitex@1.2.0', 'abcdef0123456789') } });
    const { published } = await run(atCandidate, fake);
    expect(steps(published)).toEqual(['shadow', 'replayed']);
    expect(fake.calls).toEqual(['shadow patchcore-aitex@1.2.0-refit.abcdef01', 'replay patchcore-aitex@1.2.0-refit.abcdef01 abcdef0123456789']);
  });

  it.each([
    { step: 'failed', code: 'X', message: 'm' },
    { step: 'replayed', snapshot: 'abcdef0123456789', version: 'patchcore-aitex@1.2.0-refit.abcdef01', revision: 7, check: replayCheck(), reasons: ['no guard'] },
    { step: 'promoted', snapshot: 'abcdef0123456789', version: 'patchcore-aitex@1.2.0-refit.abcdef01', revision: 8, stage: 'production', by: 'eve' },
  ])('does nothing with a request that has ended ($step)', async (status) => {
    const fake = fakeSteps();
    const { published } = await run(RetrainRequest.parse({ ...requested, status }), fake, canaryGuard);
    expect(published).toEqual([]);
    expect(fake.calls).toEqual([]);
  });

  it('records nothing when publishing a step fails, so the next run redoes it', async () => {
    await expect(runRequest(requested, fakeSteps(), () => Promise.reject(new Error('broker down')))).rejects.toThrow('broker down');
  });
});
