import { describe, expect, it } from 'vitest';
import { Alert, DriftEvent, manualRetrainRequest, retrainKey, type RetrainRequest } from '@loomwatch/contracts';
import { driftRequests } from './drift-policy.js';

const now = new Date('2026-12-07T12:00:00Z');
const options = { model: 'patchcore-aitex', now };

function alert(overrides: Partial<Alert> = {}): Alert {
  return Alert.parse({
    alertId: 'a-1',
    dedupKey: 'drift:line-1:cam-1',
    rule: 'drift',
    kind: 'drift',
    status: 'open',
    severity: 'warning',
    lineId: 'line-1',
    cameraId: 'cam-1',
    message: 'drift on line-1/cam-1 (fabric 01): input-psi 0.400 beyond 0.250',
    openedAt: '2026-12-07T11:00:00Z',
    updatedAt: '2026-12-07T11:00:00Z',
    frameIds: [],
    anomalyMaps: [],
    revision: 0,
    ...overrides,
  });
}

function judgement(overrides: Partial<DriftEvent> = {}): DriftEvent {
  return DriftEvent.parse({
    lineId: 'line-1',
    cameraId: 'cam-1',
    fabricCode: '01',
    status: 'drifting',
    tripped: ['input-psi'],
    measures: [{ check: 'input-psi', value: 0.4, threshold: 0.25, tripped: true, frames: 200 }],
    window: { frames: 200, firstFrameId: 'f1', lastFrameId: 'f200', from: '2026-12-07T10:50:00Z', to: '2026-12-07T11:00:00Z' },
    reference: { model: 'patchcore-aitex', version: '1.2.0', split: 'fabric:01', scope: 'fabric' },
    evaluatedAt: '2026-12-07T11:00:00Z',
    monitorId: 'drift-1',
    ...overrides,
  });
}

function last(request: Partial<RetrainRequest>): Map<string, RetrainRequest> {
  const made = { ...manualRetrainRequest('patchcore-aitex', '01', 'eve', new Date('2026-12-07T11:30:00Z')), ...request };
  return new Map([[retrainKey('patchcore-aitex', '01'), made]]);
}

describe('the drift policy', () => {
  it('asks for a refit of the fabric an open drift alert\'s camera is drifting on, naming the alert', () => {
    const [request, ...more] = driftRequests([alert()], [judgement(), judgement({ fabricCode: '02', status: 'ok', tripped: [] })], new Map(), options);
    expect(more).toEqual([]);
    expect(request).toMatchObject({ model: 'patchcore-aitex', fabric: '01', reason: { kind: 'drift', alertId: 'a-1' }, requestedBy: 'retrain-policy', status: { step: 'requested' } });
  });

  it('asks nothing for a resolved alert, another kind of alert, another camera, another model\'s reference, or a judgement without a fabric', () => {
    const judgements = [judgement({ cameraId: 'cam-2' }), judgement({ fabricCode: '03', reference: { model: 'draem-aitex', version: '1.0.0', split: 'all', scope: 'pooled' } }), { ...judgement(), fabricCode: undefined } as DriftEvent];
    expect(driftRequests([alert({ status: 'resolved', resolvedAt: '2026-12-07T11:10:00Z' }), alert({ alertId: 'a-2', kind: 'burst' })], [judgement()], new Map(), options)).toEqual([]);
    expect(driftRequests([alert()], judgements, new Map(), options)).toEqual([]);
  });

  it('takes a line-wide alert for every camera of the line, one request per fabric', () => {
    const requests = driftRequests([alert({ cameraId: undefined })], [judgement(), judgement({ cameraId: 'cam-2', fabricCode: '02' }), judgement({ cameraId: 'cam-3' })], new Map(), options);
    expect(requests.map((r) => r.fabric)).toEqual(['01', '02']);
  });

  it('leaves a fabric alone while its last request is pending', () => {
    expect(driftRequests([alert()], [judgement()], last({ status: { step: 'refit', snapshot: 's', version: 'v' } }), options)).toEqual([]);
  });

  it('asks once per alert: not again after a request made since it opened, but for an alert opened after that request', () => {
    const done = last({ status: { step: 'refused', snapshot: 's', version: 'v', reasons: ['r'] } });
    expect(driftRequests([alert()], [judgement()], done, options)).toEqual([]);
    const [request] = driftRequests([alert(), alert({ alertId: 'a-9', cameraId: 'cam-2', openedAt: '2026-12-07T11:45:00Z' })], [judgement(), judgement({ cameraId: 'cam-2' })], done, options);
    expect(request?.reason).toEqual({ kind: 'drift', alertId: 'a-9' });
  });
});
