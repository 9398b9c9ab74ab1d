import { describe, expect, it } from 'vitest';
import { RetrainRequest, isRetrainKey, retrainKey, retrainPending } from './retrain.js';

const request = {
  kind: 'retrain-request',
  id: 'r-1',
  model: 'patchcore-aitex',
  fabric: '01',
  reason: { kind: 'false-alarms', count: 5, to: '2026-12-07T10:00:00Z' },
  requestedAt: '2026-12-07T10:00:00Z',
  requestedBy: 'retrain-policy',
  status: { step: 'requested' },
  updatedAt: '2026-12-07T10:00:00Z',
} as const;

describe('RetrainRequest', () => {
  it('keys a request by model and fabric, all fabrics as all', () => {
    expect(retrainKey('patchcore-aitex', '01')).toBe('retrain:patchcore-aitex:01');
    expect(retrainKey('patchcore-aitex', undefined)).toBe('retrain:patchcore-aitex:all');
    expect(isRetrainKey('retrain:patchcore-aitex:01')).toBe(true);
    expect(isRetrainKey('deployment:patchcore-aitex')).toBe(false);
    expect(isRetrainKey(undefined)).toBe(false);
  });

  it('refuses a candidate step without its version, and a refusal without its snapshot', () => {
    expect(RetrainRequest.safeParse({ ...request, status: { step: 'candidate', snapshot: 's1' } }).success).toBe(false);
    expect(RetrainRequest.safeParse({ ...request, status: { step: 'refused', version: '1.2.0-r', reasons: [] } }).success).toBe(false);
    expect(RetrainRequest.safeParse({ ...request, status: { step: 'shadow', snapshot: 's1', version: '1.2.0-r', revision: 3 } }).success).toBe(true);
  });

  it('is pending until shadow, refused or failed', () => {
    expect(retrainPending(request)).toBe(true);
    expect(retrainPending({ status: { step: 'candidate', snapshot: 's1', version: 'v' } })).toBe(true);
    expect(retrainPending({ status: { step: 'failed', code: 'X', message: 'm' } })).toBe(false);
    expect(retrainPending({ status: { step: 'shadow', snapshot: 's1', version: 'v', revision: 2 } })).toBe(true);
    expect(retrainPending({ status: { step: 'promoted', snapshot: 's1', version: 'v', revision: 3, stage: 'canary', by: 'retrain-guard' } })).toBe(false);
  });
});
