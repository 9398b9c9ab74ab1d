import { describe, expect, it } from 'vitest';
import { RetrainRequest } from '@loomwatch/contracts';
import { findRetrain, manualRequest, parseAskBody, parsePromoteBody, promotionOf } from './retrain.js';
import { deploymentFixture, replayCheckFixture, retrainFixture, retrainStatusFixture } from './testing.js';

const NOW = new Date('2026-12-07T12:00:00Z');
const KEY = 'retrain:draem-aitex:05';
/** The deployment the candidate 1.3.0 is in shadow on (revision 3), with a canary of another version on line-2. */
const inForce = deploymentFixture(3, { shadow: { version: '1.3.0', sample: 0.1 }, canary: { version: '1.1.0', lines: ['line-2'], cameras: [] } });
const deployments = { 'draem-aitex': inForce };

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    const { status, code } = err as { status?: number; code?: string };
    return `${status ?? '?'} ${code ?? '?'}`;
  }
  return 'no refusal';
}

describe('promoting a retrain candidate', () => {
  it('puts a replayed candidate into production: the next deployment revision with its shadow ended, then the promoted record at that revision by the engineer', () => {
    const request = retrainFixture(retrainStatusFixture('replayed'));
    const { deployment, record } = promotionOf(request, deployments, parsePromoteBody({ key: KEY, stage: 'production' }), 'Erin Engineer', NOW);
    expect(deployment).toEqual({
      ...inForce,
      revision: 4,
      production: '1.3.0',
      shadow: undefined,
      updatedAt: NOW.toISOString(),
      reason: `retrain ${request.id}: 1.3.0 promoted to production by Erin Engineer on the dashboard`,
    });
    expect('shadow' in deployment).toBe(false);
    // The canary of another version stays.
    expect(deployment.canary).toEqual(inForce.canary);
    expect(record).toEqual({
      ...request,
      status: { step: 'promoted', snapshot: 'snap-1', version: '1.3.0', revision: 4, check: replayCheckFixture(), stage: 'production', by: 'Erin Engineer' },
      updatedAt: NOW.toISOString(),
    });
    expect(RetrainRequest.safeParse(record).success).toBe(true);
  });

  it('puts a replayed candidate into canary on the lines and cameras asked for, and later that canary into production, ending the canary', () => {
    const request = retrainFixture(retrainStatusFixture('replayed'));
    const canary = promotionOf(request, deployments, parsePromoteBody({ id: request.id, stage: 'canary', canaryLines: ['line-1'], canaryCameras: ['line-3:cam-2'] }), 'Erin Engineer', NOW);
    expect(canary.deployment).toMatchObject({ revision: 4, production: '1.0.0', canary: { version: '1.3.0', lines: ['line-1'], cameras: ['line-3:cam-2'] } });
    expect(canary.deployment.shadow).toBeUndefined();
    expect(canary.record.status).toMatchObject({ step: 'promoted', stage: 'canary', revision: 4 });

    const production = promotionOf(canary.record, { 'draem-aitex': canary.deployment }, parsePromoteBody({ key: KEY, stage: 'production' }), 'Erin Engineer', NOW);
    expect(production.deployment).toMatchObject({ revision: 5, production: '1.3.0' });
    expect(production.deployment.canary).toBeUndefined();
    expect(production.record.status).toMatchObject({ step: 'promoted', stage: 'production', revision: 5, check: replayCheckFixture() });
  });

  it('refuses (409 RETRAIN_NOT_PROMOTABLE) every step but replayed, and a promotion to a stage already reached', () => {
    for (const step of ['requested', 'snapshot', 'refit', 'candidate', 'shadow', 'refused', 'failed'] as const) {
      expect(refusal(() => promotionOf(retrainFixture(retrainStatusFixture(step)), deployments, parsePromoteBody({ key: KEY, stage: 'production' }), 'Erin', NOW)), step).toBe('409 RETRAIN_NOT_PROMOTABLE');
    }
    const inCanary = retrainFixture(retrainStatusFixture('promoted'));
    expect(refusal(() => promotionOf(inCanary, deployments, parsePromoteBody({ key: KEY, stage: 'canary', canaryLines: ['line-1'] }), 'Erin', NOW))).toBe('409 RETRAIN_NOT_PROMOTABLE');
    const inProduction = retrainFixture({ ...retrainStatusFixture('promoted'), stage: 'production' } as RetrainRequest['status']);
    expect(refusal(() => promotionOf(inProduction, deployments, parsePromoteBody({ key: KEY, stage: 'production' }), 'Erin', NOW))).toBe('409 RETRAIN_NOT_PROMOTABLE');
  });

  it('refuses (409 NO_DEPLOYMENT) a model with no deployment on the control topic', () => {
    const request = retrainFixture(retrainStatusFixture('replayed'), { model: 'patchcore-aitex' });
    expect(refusal(() => promotionOf(request, deployments, parsePromoteBody({ key: KEY, stage: 'production' }), 'Erin', NOW))).toBe('409 NO_DEPLOYMENT');
  });

  it('refuses a body that names no request or both ways, a canary without scope and production with one (400 BODY_INVALID)', () => {
    for (const body of [{ stage: 'production' }, { key: KEY, id: 'x', stage: 'production' }, { key: KEY, stage: 'canary' }, { key: KEY, stage: 'production', canaryLines: ['line-1'] }, { key: KEY, stage: 'live' }, { key: KEY, stage: 'canary', canaryCameras: ['cam-1'] }, null]) {
      expect(refusal(() => parsePromoteBody(body)), JSON.stringify(body)).toBe('400 BODY_INVALID');
    }
  });

  it('finds the request in force by key or id, and answers 404 RETRAIN_NOT_FOUND for one replaced or never made', () => {
    const request = retrainFixture(retrainStatusFixture('replayed'));
    const retrains = { [KEY]: request };
    expect(findRetrain(retrains, { key: KEY })).toEqual({ key: KEY, request });
    expect(findRetrain(retrains, { id: request.id })).toEqual({ key: KEY, request });
    expect(refusal(() => findRetrain(retrains, { id: 'draem-aitex.05.older' }))).toBe('404 RETRAIN_NOT_FOUND');
    expect(refusal(() => findRetrain(retrains, { key: 'retrain:draem-aitex:all' }))).toBe('404 RETRAIN_NOT_FOUND');
  });
});

describe('asking for a refit', () => {
  it('makes a requested record with reason manual, by the engineer, under the model and fabric key', () => {
    const { key, record } = manualRequest(parseAskBody({ model: 'draem-aitex', fabric: '05' }), {}, deployments, 'Erin Engineer', NOW);
    expect(key).toBe(KEY);
    expect(record).toEqual({
      kind: 'retrain-request',
      id: `draem-aitex.05.${NOW.getTime()}`,
      model: 'draem-aitex',
      fabric: '05',
      reason: { kind: 'manual' },
      requestedAt: NOW.toISOString(),
      requestedBy: 'Erin Engineer',
      status: { step: 'requested' },
      updatedAt: NOW.toISOString(),
    });
    expect(manualRequest(parseAskBody({ model: 'draem-aitex' }), {}, deployments, 'Erin', NOW).key).toBe('retrain:draem-aitex:all');
  });

  it('refuses (409 RETRAIN_PENDING) while the request of that key still runs, and asks again once it ended', () => {
    for (const step of ['requested', 'snapshot', 'refit', 'candidate', 'shadow'] as const) {
      expect(refusal(() => manualRequest({ model: 'draem-aitex', fabric: '05' }, { [KEY]: retrainFixture(retrainStatusFixture(step)) }, deployments, 'Erin', NOW)), step).toBe('409 RETRAIN_PENDING');
    }
    for (const step of ['refused', 'failed', 'replayed', 'promoted'] as const) {
      expect(manualRequest({ model: 'draem-aitex', fabric: '05' }, { [KEY]: retrainFixture(retrainStatusFixture(step)) }, deployments, 'Erin', NOW).record.status.step, step).toBe('requested');
    }
  });

  it('refuses a model the control topic knows nothing of (409 NO_DEPLOYMENT) and a body that is not { model, fabric? } (400)', () => {
    expect(refusal(() => manualRequest({ model: 'nothing-like-it' }, {}, deployments, 'Erin', NOW))).toBe('409 NO_DEPLOYMENT');
    for (const body of [{}, { model: 'a b' }, { model: 'draem-aitex', fabric: '0/5' }, { model: 'draem-aitex', extra: 1 }]) {
      expect(refusal(() => parseAskBody(body)), JSON.stringify(body)).toBe('400 BODY_INVALID');
    }
  });
});
