import { describe, expect, it } from 'vitest';
import type { Deployment } from '@loomwatch/contracts';
import { fixedDeployment } from './model-pool.js';
import { routeFrame, sampleKey } from './routing.js';

const base: Deployment = { ...fixedDeployment('draem-aitex', '1.0.0'), revision: 3 };
const frame = (lineId: string, cameraId: string, fabricCode?: string, frameId = `${lineId}.${cameraId}.1`) => ({
  frameId,
  lineId,
  cameraId,
  ...(fabricCode === undefined ? {} : { product: { fabricCode } }),
});

describe('routeFrame', () => {
  it('sends everything to production by default', () => {
    expect(routeFrame(base, frame('line-1', 'cam-1', '05'))).toEqual({ version: '1.0.0', rule: 'production' });
  });

  it('sends canary lines and cameras to the candidate, the rest to production', () => {
    const d: Deployment = { ...base, canary: { version: '2.0.0', lines: ['line-2'], cameras: ['line-1:cam-3'] } };
    expect(routeFrame(d, frame('line-2', 'cam-1'))).toMatchObject({ version: '2.0.0', rule: 'canary' });
    expect(routeFrame(d, frame('line-1', 'cam-3'))).toMatchObject({ version: '2.0.0', rule: 'canary' });
    expect(routeFrame(d, frame('line-1', 'cam-1'))).toMatchObject({ version: '1.0.0', rule: 'production' });
    expect(routeFrame(d, frame('line-3', 'cam-3'))).toMatchObject({ version: '1.0.0', rule: 'production' });
  });

  it('gives a per-fabric model precedence over canary and production', () => {
    const d: Deployment = { ...base, canary: { version: '2.0.0', lines: ['line-2'], cameras: [] }, fabrics: { '05': '1.5.0' } };
    expect(routeFrame(d, frame('line-2', 'cam-1', '05'))).toMatchObject({ version: '1.5.0', rule: 'fabric' });
    expect(routeFrame(d, frame('line-2', 'cam-1', '06'))).toMatchObject({ version: '2.0.0', rule: 'canary' });
  });

  it("gives a frame its line's false-alarm rate, else the deployment's, else none (each card's default)", () => {
    const d: Deployment = { ...base, operatingPoint: { falseAlarmRate: 0.02, lines: { 'line-2': 0.01 } } };
    expect(routeFrame(d, frame('line-2', 'cam-1'))).toEqual({ version: '1.0.0', rule: 'production', falseAlarmRate: 0.01 });
    expect(routeFrame(d, frame('line-1', 'cam-1'))).toEqual({ version: '1.0.0', rule: 'production', falseAlarmRate: 0.02 });
    const linesOnly: Deployment = { ...base, operatingPoint: { lines: { 'line-2': 0.01 } } };
    expect(routeFrame(linesOnly, frame('line-1', 'cam-1'))).not.toHaveProperty('falseAlarmRate');
    expect(routeFrame(base, frame('line-2', 'cam-1'))).not.toHaveProperty('falseAlarmRate');
  });

  it('routes a frame whose fabric code is named like an object property (constructor) by the other rules', () => {
    const d: Deployment = { ...base, fabrics: { '05': '1.5.0' } };
    expect(routeFrame(d, frame('line-1', 'cam-1', 'constructor'))).toEqual({ version: '1.0.0', rule: 'production' });
    expect(routeFrame(d, frame('line-1', 'cam-1', '__proto__'))).toEqual({ version: '1.0.0', rule: 'production' });
  });

  it('shadows the configured share of frames, the same frames every time', () => {
    const d: Deployment = { ...base, shadow: { version: '2.0.0', sample: 0.25 } };
    const ids = Array.from({ length: 4000 }, (_, i) => `line-1.cam-1.${i}`);
    const shadowed = ids.filter((id) => routeFrame(d, frame('line-1', 'cam-1', undefined, id)).shadow === '2.0.0');
    expect(shadowed.length / ids.length).toBeGreaterThan(0.22);
    expect(shadowed.length / ids.length).toBeLessThan(0.28);
    expect(ids.filter((id) => routeFrame(d, frame('line-1', 'cam-1', undefined, id)).shadow !== undefined)).toEqual(shadowed);
  });

  it('places a frame id at a fixed point of [0, 1), so every process and release samples the same frames', () => {
    // The first four bytes of the id's sha256 over 2^32: a change of hash would reshuffle which frames a shadow sees.
    expect(sampleKey('x')).toBe(0x2d711642 / 2 ** 32);
    expect(sampleKey('line-1.cam-1.00000001.abc')).toBe(0.39600378437899053);
    expect(sampleKey('line-2.cam-1.00000042.0123456789ab')).toBe(0.37855135882273316);
  });

  it('does not shadow a frame with the version that already decides it', () => {
    const d: Deployment = { ...base, canary: { version: '2.0.0', lines: ['line-1'], cameras: [] }, shadow: { version: '2.0.0', sample: 1 } };
    expect(routeFrame(d, frame('line-1', 'cam-1')).shadow).toBeUndefined();
    expect(routeFrame(d, frame('line-2', 'cam-1')).shadow).toBe('2.0.0');
  });
});
