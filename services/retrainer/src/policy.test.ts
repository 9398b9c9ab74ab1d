import { describe, expect, it } from 'vitest';
import { manualRetrainRequest, retrainKey, type RetrainRequest } from '@loomwatch/contracts';
import type { FrameLabel } from '@loomwatch/quality';
import { policyRequests } from './policy.js';

const now = new Date('2026-12-07T12:00:00Z');

function label(i: number, overrides: Partial<FrameLabel> = {}): FrameLabel {
  return {
    frameId: `f${i}`,
    lineId: 'line-1',
    cameraId: 'cam-1',
    fabricCode: '01',
    verdict: 'defect',
    model: { name: 'patchcore-aitex', version: '1.2.0' },
    decidedAt: '2026-12-07T10:00:00Z',
    label: 'false-alarm',
    feedbackId: `fb${i}`,
    revision: 0,
    reviewedAt: `2026-12-07T11:${String(i).padStart(2, '0')}:00Z`,
    sampled: false,
    feedbackIds: [`fb${i}`],
    ...overrides,
  };
}

const options = { model: 'patchcore-aitex', falseAlarms: 5, now };
const labels = (n: number, overrides: Partial<FrameLabel> = {}): FrameLabel[] => Array.from({ length: n }, (_, i) => label(i, overrides));

function last(overrides: Partial<RetrainRequest>): Map<string, RetrainRequest> {
  const request = { ...manualRetrainRequest('patchcore-aitex', '01', 'eve', new Date('2026-12-07T11:02:30Z')), status: { step: 'refused' as const, snapshot: 's1', version: 'v', reasons: ['held-out false alarms not fewer'] }, ...overrides };
  return new Map([[retrainKey('patchcore-aitex', '01'), request]]);
}

describe('the retrain policy', () => {
  it('asks for a refit of a fabric with five false alarms, naming the count', () => {
    const [request, ...more] = policyRequests(labels(5), new Map(), options);
    expect(more).toEqual([]);
    expect(request).toMatchObject({ model: 'patchcore-aitex', fabric: '01', requestedBy: 'retrain-policy', status: { step: 'requested' }, reason: { kind: 'false-alarms', count: 5, to: now.toISOString() } });
  });

  it('does not ask with four false alarms, nor counts other labels, other models or frames without a fabric', () => {
    const others = [label(10, { label: 'defect-confirmed' }), label(11, { model: { name: 'draem-aitex', version: '1.0.0' } }), { ...label(12), fabricCode: undefined } as unknown as FrameLabel];
    expect(policyRequests([...labels(4), ...others], new Map(), options)).toEqual([]);
  });

  it('counts only false alarms reviewed after the fabric\'s last request', () => {
    // f0..f2 reviewed at 11:00–11:02, before the request at 11:02:30; f3..f7 after it.
    expect(policyRequests(labels(7), last({}), options)).toEqual([]);
    const [request] = policyRequests(labels(8), last({}), options);
    expect(request?.reason).toEqual({ kind: 'false-alarms', count: 5, from: '2026-12-07T11:02:30.000Z', to: now.toISOString() });
  });

  it('leaves a fabric alone while its last request is still running', () => {
    expect(policyRequests(labels(30), last({ status: { step: 'refit', snapshot: 's1', version: 'v' } }), options)).toEqual([]);
  });

  it('asks per fabric', () => {
    const requests = policyRequests([...labels(5), ...Array.from({ length: 5 }, (_, i) => label(20 + i, { fabricCode: '02' }))], new Map(), options);
    expect(requests.map((r) => r.fabric)).toEqual(['01', '02']);
  });
});
