import { describe, expect, it } from 'vitest';
import { Alert } from './alert.js';
import { decodeMessage, encodeMessage } from './codec.js';

const open: Alert = {
  alertId: '3f2a9c1b0d4e5f60718293a4b5c6d7e8',
  dedupKey: 'burst:line-1:cam-2',
  rule: 'burst',
  kind: 'burst',
  status: 'open',
  severity: 'critical',
  stopLine: true,
  lineId: 'line-1',
  cameraId: 'cam-2',
  message: '3 defects in the last 5 frames of line-1/cam-2',
  openedAt: '2026-11-22T00:00:05.000Z',
  updatedAt: '2026-11-22T00:00:05.000Z',
  revision: 0,
  frameIds: ['f1', 'f3', 'f5'],
  anomalyMaps: [{ bucket: 'loomwatch-results', key: 'maps/m/1/line-1/cam-2/f1.png' }],
  observation: { value: 3, threshold: 3, frames: 5 },
};

describe('Alert', () => {
  it('round-trips an open alert through encode and decode unchanged', () => {
    expect(decodeMessage(Alert, encodeMessage(Alert, open))).toEqual(open);
  });

  it('accepts the first-cut shape without the later optional fields', () => {
    const { kind: _k, revision: _r, stopLine: _s, observation: _o, ...firstCut } = open;
    expect(Alert.safeParse(firstCut).success).toBe(true);
  });

  it('accepts a line-wide resolved alert with its resolution time', () => {
    const { cameraId: _c, ...lineWide } = open;
    const resolved = { ...lineWide, status: 'resolved', resolvedAt: '2026-11-22T00:10:00.000Z', revision: 1 };
    expect(Alert.safeParse(resolved).success).toBe(true);
  });

  it('rejects a resolved alert without resolvedAt, and an open one with it', () => {
    expect(() => encodeMessage(Alert, { ...open, status: 'resolved' })).toThrow(/resolvedAt/);
    expect(() => encodeMessage(Alert, { ...open, resolvedAt: '2026-11-22T00:10:00.000Z' })).toThrow(/resolvedAt/);
  });

  it('rejects unknown fields and more than 100 frame ids', () => {
    expect(Alert.safeParse({ ...open, extra: 1 }).success).toBe(false);
    expect(Alert.safeParse({ ...open, frameIds: Array.from({ length: 101 }, (_, i) => `f${i}`) }).success).toBe(false);
  });
});
