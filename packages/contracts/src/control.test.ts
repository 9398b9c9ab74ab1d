import { describe, expect, it } from 'vitest';
import { Deployment, falseAlarmRateFor } from './control.js';

const deployment = { kind: 'deployment', model: 'm', revision: 1, production: '1.0.0', updatedAt: '2026-12-01T00:00:00Z' } as const;

describe('Deployment operating point', () => {
  it('gives a listed line its own rate, any other line the deployment rate, and none without one', () => {
    const d = Deployment.parse({ ...deployment, operatingPoint: { falseAlarmRate: 0.02, lines: { 'line-2': 0.01 } } });
    expect(falseAlarmRateFor(d, 'line-2')).toBe(0.01);
    expect(falseAlarmRateFor(d, 'line-1')).toBe(0.02);
    const linesOnly = Deployment.parse({ ...deployment, operatingPoint: { lines: { 'line-2': 0.01 } } });
    expect(falseAlarmRateFor(linesOnly, 'line-1')).toBeUndefined();
    expect(falseAlarmRateFor(Deployment.parse(deployment), 'line-1')).toBeUndefined();
  });

  it('gives a line named like an object property (constructor) the deployment rate, not the prototype\'s', () => {
    const d = Deployment.parse({ ...deployment, operatingPoint: { falseAlarmRate: 0.02, lines: {} } });
    expect(falseAlarmRateFor(d, 'constructor')).toBe(0.02);
    expect(falseAlarmRateFor(d, 'toString')).toBe(0.02);
  });

  it('defaults the per-line rates to none', () => {
    expect(Deployment.parse({ ...deployment, operatingPoint: { falseAlarmRate: 0.05 } }).operatingPoint).toEqual({ falseAlarmRate: 0.05, lines: {} });
  });

  it.each([0.0005, 0.25, 0])('refuses a rate of %s, outside 0.001 to 0.2', (rate) => {
    expect(Deployment.safeParse({ ...deployment, operatingPoint: { falseAlarmRate: rate } }).success).toBe(false);
    expect(Deployment.safeParse({ ...deployment, operatingPoint: { lines: { 'line-1': rate } } }).success).toBe(false);
  });
});

describe('Deployment versions', () => {
  it('takes a version or name@version and refuses "." and ".." in either place', () => {
    for (const version of ['1.2.0', 'patchcore-aitex@1.1.0', '1.2.0-refit.ab12cd34']) expect(Deployment.safeParse({ ...deployment, production: version }).success, version).toBe(true);
    for (const version of ['..', '.', 'draem-random@..', '..@1.0.0', 'a/b']) expect(Deployment.safeParse({ ...deployment, production: version }).success, version).toBe(false);
  });
});
