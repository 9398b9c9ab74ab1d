import { describe, expect, it } from 'vitest';
import { fixedDeployment } from './model-pool.js';
import { describeDeployment, nextDeployment } from './rollout.js';

const NOW = new Date('2026-11-22T04:00:00Z');

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
    const current = {
      ...fixedDeployment('m', '1.0.0'),
      revision: 4,
      canary: { version: '1.1.0', lines: ['line-2'], cameras: [] },
      shadow: { version: '1.2.0', sample: 0.1 },
      fabrics: { '05': '1.0.5', '06': '1.0.6' },
    };
    const next = nextDeployment('m', current, undefined, { production: '0.9.0', canary: null, fabrics: { '05': null, '07': '1.0.7' }, reason: 'rollback' }, NOW);
    expect(next).toMatchObject({ revision: 5, production: '0.9.0', shadow: { version: '1.2.0', sample: 0.1 }, fabrics: { '06': '1.0.6', '07': '1.0.7' }, reason: 'rollback' });
    expect(next.canary).toBeUndefined();
    expect(describeDeployment(next)).toContain('production 0.9.0');
  });

  it('refuses a deployment without a production version and a canary that selects nothing', () => {
    expect(() => nextDeployment('m', undefined, undefined, {}, NOW)).toThrow(/--production/);
    expect(() => nextDeployment('m', undefined, '1.0.0', { canary: { version: '1.1.0', lines: [], cameras: [] } }, NOW)).toThrow(/canary-lines/);
  });
});
