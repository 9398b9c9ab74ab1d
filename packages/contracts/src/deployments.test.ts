import { describe, expect, it } from 'vitest';
import type { Deployment } from './control.js';
import { nextDeployment, nextOperatingPoint } from './deployments.js';

const NOW = new Date('2026-11-22T04:00:00Z');
const deployment = (revision: number, rest: Partial<Deployment> = {}): Deployment => ({
  kind: 'deployment',
  model: 'm',
  revision,
  production: '1.0.0',
  fabrics: {},
  updatedAt: '2026-11-01T00:00:00.000Z',
  ...rest,
});

describe('nextDeployment', () => {
  it('starts from the registry production version at revision 1', () => {
    expect(nextDeployment('m', undefined, '1.0.0', { shadow: { version: '1.1.0', sample: 0.2 } }, NOW)).toEqual({
      kind: 'deployment',
      model: 'm',
      revision: 1,
      production: '1.0.0',
      shadow: { version: '1.1.0', sample: 0.2 },
      fabrics: {},
      updatedAt: '2026-11-22T04:00:00.000Z',
    });
  });

  it('keeps what the change does not mention, clears what it nulls, and bumps the revision', () => {
    const current = deployment(4, {
      canary: { version: '1.1.0', lines: ['line-2'], cameras: [] },
      shadow: { version: '1.2.0', sample: 0.1 },
      fabrics: { '05': '1.0.5', '06': '1.0.6' },
      operatingPoint: { falseAlarmRate: 0.02, lines: {} },
      reason: 'canary',
    });
    const next = nextDeployment('m', current, undefined, { production: '0.9.0', canary: null, fabrics: { '05': null, '07': '1.0.7' }, reason: 'rollback' }, NOW);
    expect(next).toEqual({
      kind: 'deployment',
      model: 'm',
      revision: 5,
      production: '0.9.0',
      shadow: { version: '1.2.0', sample: 0.1 },
      fabrics: { '06': '1.0.6', '07': '1.0.7' },
      operatingPoint: { falseAlarmRate: 0.02, lines: {} },
      updatedAt: NOW.toISOString(),
      reason: 'rollback',
    });
    expect(nextDeployment('m', current, undefined, {}, NOW).reason).toBeUndefined();
  });

  it('pins the precision, keeps it across later changes, and returns it to the workers\' setting with null', () => {
    const pinned = nextDeployment('m', deployment(1), undefined, { precision: 'fp32' }, NOW);
    expect(pinned.precision).toBe('fp32');
    expect(nextDeployment('m', pinned, undefined, { production: '1.1.0' }, NOW).precision).toBe('fp32');
    expect(nextDeployment('m', pinned, undefined, { precision: null }, NOW)).not.toHaveProperty('precision');
  });

  it('changes the sample of the shadow in force, and refuses a sample without a shadow', () => {
    const current = deployment(2, { shadow: { version: '1.2.0', sample: 0.1 } });
    expect(nextDeployment('m', current, undefined, { shadowSample: 0.5 }, NOW).shadow).toEqual({ version: '1.2.0', sample: 0.5 });
    expect(() => nextDeployment('m', deployment(1), undefined, { shadowSample: 0.5 }, NOW)).toThrow(/no shadow in force: --shadow-sample needs --shadow/);
  });

  it('refuses a deployment without a production version and a canary that selects nothing', () => {
    expect(() => nextDeployment('m', undefined, undefined, {}, NOW)).toThrow(expect.objectContaining({ code: 'DEPLOYMENT_INVALID', message: expect.stringContaining('--production') as unknown }));
    expect(() => nextDeployment('m', undefined, '1.0.0', { canary: { version: '1.1.0', lines: [], cameras: [] } }, NOW)).toThrow(/canary-lines/);
  });
});

describe('nextOperatingPoint', () => {
  it('changes only the rate asked for, and drops the operating point when nothing names a rate', () => {
    expect(nextOperatingPoint(undefined, { falseAlarmRate: 0.02 })).toEqual({ falseAlarmRate: 0.02, lines: {} });
    const both = nextOperatingPoint({ falseAlarmRate: 0.02, lines: {} }, { lineFalseAlarmRates: { 'line-2': 0.01 } });
    expect(both).toEqual({ falseAlarmRate: 0.02, lines: { 'line-2': 0.01 } });
    expect(nextOperatingPoint(both, {})).toEqual(both);
    expect(nextOperatingPoint(both, { falseAlarmRate: null })).toEqual({ lines: { 'line-2': 0.01 } });
    expect(nextOperatingPoint({ lines: { 'line-2': 0.01 } }, { lineFalseAlarmRates: { 'line-2': null } })).toBeUndefined();
  });
});
