import { describe, expect, it } from 'vitest';
import { LoomwatchError, RetrainRequest, type RetrainStep } from '@loomwatch/contracts';
import { manualRequest } from './policy.js';
import { candidateVersion, runRequest, type RefitOutcome, type RetrainSteps } from './runner.js';

function fakeSteps(refit: RefitOutcome | Error = { passed: true }): RetrainSteps & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    snapshot: () => (calls.push('snapshot'), Promise.resolve('abcdef0123456789')),
    parent: (model) => (calls.push('parent'), Promise.resolve(`${model}@1.2.0`)),
    refit: (input) => (calls.push(`refit ${input.parent} ${input.version}`), refit instanceof Error ? Promise.reject(refit) : Promise.resolve(refit)),
    shadow: (_model, version) => (calls.push(`shadow ${version}`), Promise.resolve(7)),
  };
}

async function run(request: RetrainRequest, steps: RetrainSteps): Promise<{ published: RetrainRequest[]; end: RetrainRequest }> {
  const published: RetrainRequest[] = [];
  const end = await runRequest(request, steps, (r) => (published.push(RetrainRequest.parse(r)), Promise.resolve()));
  return { published, end };
}

const requested = manualRequest('patchcore-aitex', '01', 'eve', new Date('2026-12-07T12:00:00Z'));
const steps = (published: RetrainRequest[]): RetrainStep[] => published.map((r) => r.status.step);

describe('a retrain request', () => {
  it('goes requested → snapshot → refit → candidate → shadow, publishing each step', async () => {
    const fake = fakeSteps();
    const { published, end } = await run(requested, fake);
    expect(steps(published)).toEqual(['snapshot', 'refit', 'candidate', 'shadow']);
    expect(end.status).toEqual({ step: 'shadow', snapshot: 'abcdef0123456789', version: 'patchcore-aitex@1.2.0-refit.abcdef01', revision: 7 });
    expect(fake.calls).toEqual(['snapshot', 'parent', 'refit patchcore-aitex@1.2.0 patchcore-aitex@1.2.0-refit.abcdef01', 'shadow patchcore-aitex@1.2.0-refit.abcdef01']);
  });

  it('ends refused with the gate\'s reasons, and never shadows', async () => {
    const fake = fakeSteps({ passed: false, reasons: ['validation AUROC fell 0.03'] });
    const { published, end } = await run(requested, fake);
    expect(steps(published)).toEqual(['snapshot', 'refit', 'refused']);
    expect(end.status).toMatchObject({ step: 'refused', reasons: ['validation AUROC fell 0.03'] });
    expect(fake.calls.some((call) => call.startsWith('shadow'))).toBe(false);
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
    expect(steps(published)).toEqual(['shadow']);
    expect(fake.calls).toEqual(['shadow patchcore-aitex@1.2.0-refit.abcdef01']);
  });

  it('does nothing with a request that has ended', async () => {
    const fake = fakeSteps();
    const { published } = await run(RetrainRequest.parse({ ...requested, status: { step: 'failed', code: 'X', message: 'm' } }), fake);
    expect(published).toEqual([]);
    expect(fake.calls).toEqual([]);
  });

  it('records nothing when publishing a step fails, so the next run redoes it', async () => {
    await expect(runRequest(requested, fakeSteps(), () => Promise.reject(new Error('broker down')))).rejects.toThrow('broker down');
  });
});
