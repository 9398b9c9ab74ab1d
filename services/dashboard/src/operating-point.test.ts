import { describe, expect, it } from 'vitest';
import { Deployment } from '@loomwatch/contracts';
import { operatingPointRevision, parseOperatingPointChange } from './operating-point.js';
import { deploymentFixture } from './testing.js';

const NOW = new Date('2026-12-08T10:00:00Z');

describe('the operating point an engineer sets', () => {
  it('takes a rate for the deployment or a line, null to return to the card\'s default, and null alone', () => {
    expect(parseOperatingPointChange({ falseAlarmRate: 0.02 })).toEqual({ falseAlarmRate: 0.02 });
    expect(parseOperatingPointChange({ falseAlarmRate: 0.01, line: 'line-2' })).toEqual({ falseAlarmRate: 0.01, line: 'line-2' });
    expect(parseOperatingPointChange({ falseAlarmRate: null, line: 'line-2' })).toEqual({ falseAlarmRate: null, line: 'line-2' });
    expect(parseOperatingPointChange(null)).toEqual({ falseAlarmRate: null });
  });

  it.each([[{ falseAlarmRate: 0.5 }], [{ falseAlarmRate: '0.02' }], [{}], [{ falseAlarmRate: 0.02, line: 'line:2' }], [{ falseAlarmRate: 0.02, extra: 1 }], ['0.02'], [undefined]])(
    'refuses %j with 400 BODY_INVALID saying what to send',
    (body) => {
      expect(() => parseOperatingPointChange(body)).toThrow(expect.objectContaining({ code: 'BODY_INVALID', status: 400, message: expect.stringContaining('"falseAlarmRate": 0.02') as unknown }));
    },
  );

  it('publishes the next revision of the deployment in force, everything else as it was, with who changed it', () => {
    const current = deploymentFixture(4, { canary: { version: '1.1.0', lines: [], cameras: ['line-2:cam-1'] }, fabrics: { '07': '1.0.1' }, reason: 'canary' });
    const next = operatingPointRevision({ 'draem-aitex': current }, { falseAlarmRate: 0.02, line: 'line-1' }, 'Erin Engineer', NOW);
    expect(Deployment.parse(next)).toEqual({
      ...current,
      revision: 5,
      operatingPoint: { lines: { 'line-1': 0.02 } },
      updatedAt: NOW.toISOString(),
      reason: 'false-alarm rate of line-1 set to 0.02 by Erin Engineer on the dashboard',
    });
    const cleared = operatingPointRevision({ 'draem-aitex': next }, { falseAlarmRate: null, line: 'line-1' }, 'Erin', NOW);
    expect(cleared.operatingPoint).toBeUndefined();
    expect(cleared.revision).toBe(6);
  });

  it('refuses when no deployment is in force (409), and asks which model when several are', () => {
    expect(() => operatingPointRevision({}, { falseAlarmRate: 0.02 }, 'Erin', NOW)).toThrow(expect.objectContaining({ code: 'NO_DEPLOYMENT', status: 409 }));
    const two = { a: deploymentFixture(1, { model: 'a' }), b: deploymentFixture(1, { model: 'b' }) };
    expect(() => operatingPointRevision(two, { falseAlarmRate: 0.02 }, 'Erin', NOW)).toThrow(expect.objectContaining({ code: 'BODY_INVALID', message: expect.stringContaining('a, b') as unknown }));
    expect(operatingPointRevision(two, { falseAlarmRate: 0.02, model: 'b' }, 'Erin', NOW).model).toBe('b');
    expect(() => operatingPointRevision(two, { falseAlarmRate: 0.02, model: 'c' }, 'Erin', NOW)).toThrow(expect.objectContaining({ code: 'NO_DEPLOYMENT' }));
  });
});
