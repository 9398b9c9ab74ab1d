import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Deployment, nextDeployment } from '@loomwatch/contracts';
import { fixedDeployment } from '@loomwatch/frame-pipeline';
import { int8Quantization, randomModelVersions } from '@loomwatch/model-registry/fixtures';
import { checkVersions, describeDeployment, describeRateSupport, describeServing, describeStatus, falseAlarmRateChange, precisionChange, resolveChangeVersions } from './rollout.js';

const NOW = new Date('2026-11-22T04:00:00Z');

describe('the false-alarm rate of a deployment', () => {
  const base = { ...fixedDeployment('m', '1.0.0'), revision: 3 };
  const set = (current: Deployment, rate: string | undefined, line?: string) => nextDeployment('m', current, undefined, falseAlarmRateChange(rate, line), NOW);

  it("sets the deployment's rate and a line's own, keeping the other", () => {
    const deployment = set(base, '0.02');
    expect(deployment.operatingPoint).toEqual({ falseAlarmRate: 0.02, lines: {} });
    const withLine = set(deployment, '0.01', 'line-2');
    expect(withLine.operatingPoint).toEqual({ falseAlarmRate: 0.02, lines: { 'line-2': 0.01 } });
    expect(set(withLine, '0.05').operatingPoint).toEqual({ falseAlarmRate: 0.05, lines: { 'line-2': 0.01 } });
  });

  it("clears a line's rate, then the deployment's, with default, and leaves the rates alone otherwise", () => {
    const both = set(set(base, '0.02'), '0.01', 'line-2');
    expect(nextDeployment('m', both, undefined, { production: '1.1.0' }, NOW).operatingPoint).toEqual(both.operatingPoint);
    const lineCleared = set(both, 'default', 'line-2');
    expect(lineCleared.operatingPoint).toEqual({ falseAlarmRate: 0.02, lines: {} });
    expect(set(lineCleared, 'default').operatingPoint).toBeUndefined();
    expect(set(set(base, '0.01', 'line-2'), 'default', 'line-2').operatingPoint).toBeUndefined();
  });

  it.each([['0.5'], ['0.0005'], ['0'], ['-0.02'], ['two percent'], ['']])('refuses --false-alarm-rate %j, naming the range', (rate) => {
    expect(() => falseAlarmRateChange(rate, undefined)).toThrow(
      expect.objectContaining({ code: 'DEPLOYMENT_INVALID', message: `--false-alarm-rate must be a share between 0.001 and 0.2 (0.02 = 2 % of normal frames flagged), or default for the card's, not ${rate}` }),
    );
  });

  it('refuses --line without a rate, and a line id with a colon', () => {
    expect(() => falseAlarmRateChange(undefined, 'line-2')).toThrow(expect.objectContaining({ code: 'DEPLOYMENT_INVALID', message: expect.stringContaining('--line line-2 needs --false-alarm-rate') as unknown }));
    expect(() => falseAlarmRateChange('0.02', 'line:2')).toThrow(expect.objectContaining({ code: 'DEPLOYMENT_INVALID' }));
    expect(falseAlarmRateChange(undefined, undefined)).toEqual({});
  });

  it('shows the rate in force, the card default when none is set, and each line with its own', () => {
    expect(describeDeployment(base)).toContain('\n  false-alarm rate 0.05 (card default)');
    const text = describeDeployment(set(set(base, '0.02'), '0.01', 'line-2'));
    expect(text).toContain('\n  false-alarm rate 0.02\n  line line-2  false-alarm rate 0.01');
    expect(text).not.toContain('card default');
    expect(describeDeployment(set(base, '0.01', 'line-2'))).toContain('\n  false-alarm rate 0.05 (card default)\n  line line-2  false-alarm rate 0.01');
  });

  it('notes the versions whose cards have no operating points, which a rate does not move', async () => {
    const observed = { falseAlarms: 0, frames: 20, low: 0, high: 0.17 };
    const { root, cleanup } = randomModelVersions(
      [
        { version: '1.0.0' },
        {
          version: '1.1.0',
          patchCard: (card) => {
            const postprocess = card['postprocess'] as { imageThreshold: number; operatingPoints?: unknown };
            postprocess.operatingPoints = { frames: 20, source: 'test', points: [{ falseAlarmRate: 0.05, imageThreshold: postprocess.imageThreshold, observed }] };
          },
        },
      ],
      '1.0.0',
    );
    try {
      const deployment = nextDeployment('draem-random', undefined, '1.0.0', { shadow: { version: '1.1.0', sample: 0.5 }, falseAlarmRate: 0.02 }, NOW);
      const without = await checkVersions(deployment, root);
      expect(without).toEqual(['1.0.0']);
      expect(describeRateSupport(deployment, without)).toEqual(['note: draem-random@1.0.0 has no operating points in its card: it keeps its own thresholds whatever the rate']);
      expect(describeRateSupport({ ...deployment, operatingPoint: undefined }, without)).toEqual([]);
    } finally {
      cleanup();
    }
  });
});

describe('a deployment naming another model family', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));

  it('shadows a version of another registry model, checked against that model', async () => {
    const { root, name, cleanup } = randomModelVersions([{ version: '1.0.0' }], '1.0.0');
    cleanups.push(cleanup);
    // a second model in the same registry: its cards name it, as a family of its own would
    cpSync(join(root, name), join(root, 'other-family'), { recursive: true });
    const cardPath = join(root, 'other-family', '1.0.0', 'model.json');
    writeFileSync(cardPath, JSON.stringify({ ...(JSON.parse(readFileSync(cardPath, 'utf8')) as object), name: 'other-family' }));
    const deployment = nextDeployment(name, undefined, '1.0.0', { shadow: { version: 'other-family@1.0.0', sample: 0.5 } }, NOW);
    expect(Deployment.parse(deployment).shadow).toEqual({ version: 'other-family@1.0.0', sample: 0.5 });
    await expect(checkVersions(deployment, root)).resolves.toEqual(['1.0.0', 'other-family@1.0.0']);
    const missing = nextDeployment(name, undefined, '1.0.0', { shadow: { version: 'other-family@9.9.9', sample: 0.5 } }, NOW);
    await expect(checkVersions(missing, root)).rejects.toMatchObject({ code: 'DEPLOYMENT_INVALID', message: expect.stringContaining('other-family@9.9.9') as unknown });
  });

  it('refuses a reference with more than one model name', () => {
    expect(Deployment.safeParse({ ...fixedDeployment('m', '1.0.0'), revision: 1, production: 'a@b@1.0.0' }).success).toBe(false);
  });
});

describe('rollout status', () => {
  const deployment = (production: string) => nextDeployment('draem-aitex', undefined, production, { reason: 'test' }, new Date('2026-12-04T12:00:00Z'));
  const promoted = { version: '1.1.0', promotedAt: '2026-11-22T05:57:39Z', reason: 'first version of this model' };

  it('shows what the gate promoted and what the fleet runs, and flags a difference', () => {
    const same = describeStatus('draem-aitex', promoted, deployment('1.1.0'), 'control.v1');
    expect(same).toContain('promoted by the gate: draem-aitex@1.1.0 (2026-11-22T05:57:39Z) — first version of this model');
    expect(same).toContain('the fleet runs: draem-aitex revision 1');
    expect(same).not.toContain('DIFFERS');
    expect(describeStatus('draem-aitex', promoted, deployment('1.0.0'), 'control.v1')).toContain('DIFFERS: the fleet\'s production is 1.0.0, the gate promoted 1.1.0');
    expect(describeStatus('draem-aitex', promoted, undefined, 'control.v1')).toContain('no deployment on control.v1; workers serve the promoted version\n  false-alarm rate 0.05 (card default)');
    expect(same).toContain('\n  false-alarm rate 0.05 (card default)');
  });
});

/** A registry of draem-random 1.0.0 (production) with an INT8 variant 1.0.0-int8 and 2.0.0, and other-family 1.0.0 (production). */
function twoFamilies(): { root: string; name: string; cleanup: () => void } {
  const registry = randomModelVersions([{ version: '1.0.0' }, { version: '1.0.0-int8', patchCard: (card) => void (card['quantization'] = int8Quantization('1.0.0')) }, { version: '2.0.0' }], '1.0.0');
  cpSync(join(registry.root, registry.name), join(registry.root, 'other-family'), { recursive: true });
  for (const version of ['1.0.0', '1.0.0-int8', '2.0.0']) {
    const cardPath = join(registry.root, 'other-family', version, 'model.json');
    writeFileSync(cardPath, JSON.stringify({ ...(JSON.parse(readFileSync(cardPath, 'utf8')) as object), name: 'other-family' }));
  }
  return registry;
}

describe('rollout set: names across families', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));

  it("reads --shadow other-family as that family's production version, a bare version as the model's own, name@version as written", async () => {
    const { root, name, cleanup } = twoFamilies();
    cleanups.push(cleanup);
    const change = await resolveChangeVersions(
      { production: '2.0.0', shadow: { version: 'other-family', sample: 0.1 }, canary: { version: `${name}@1.0.0`, lines: ['line-2'], cameras: [] }, fabrics: { '05': 'other-family@2.0.0', '06': null } },
      name,
      root,
    );
    expect(change).toEqual({
      production: '2.0.0',
      shadow: { version: 'other-family@1.0.0', sample: 0.1 },
      canary: { version: '1.0.0', lines: ['line-2'], cameras: [] },
      fabrics: { '05': 'other-family@2.0.0', '06': null },
    });
  });

  it('refuses an unknown family or version with DEPLOYMENT_INVALID, naming the option and what exists', async () => {
    const { root, name, cleanup } = twoFamilies();
    cleanups.push(cleanup);
    await expect(resolveChangeVersions({ shadow: { version: 'draem-aitex', sample: 0.1 } }, name, root)).rejects.toMatchObject({
      code: 'DEPLOYMENT_INVALID',
      message: `--shadow draem-aitex: no model draem-aitex in the registry ${root}: its models are draem-random, other-family`,
    });
    await expect(resolveChangeVersions({ production: '9.9.9' }, name, root)).rejects.toMatchObject({
      code: 'DEPLOYMENT_INVALID',
      message: '--production 9.9.9: draem-random has no version 9.9.9: its versions are 1.0.0, 1.0.0-int8, 2.0.0',
    });
  });
});

describe('rollout set --precision', () => {
  it('pins a precision, returns to the workers\' setting with default, and refuses anything else', () => {
    expect(precisionChange('fp32')).toEqual({ precision: 'fp32' });
    expect(precisionChange('default')).toEqual({ precision: null });
    expect(precisionChange(undefined)).toEqual({});
    expect(() => precisionChange('fp16')).toThrow(expect.objectContaining({ code: 'DEPLOYMENT_INVALID', message: expect.stringContaining('auto, fp32, int8 or default') as unknown }));
    const pinned = nextDeployment('m', { ...fixedDeployment('m', '1.0.0'), revision: 1 }, undefined, precisionChange('fp32'), NOW);
    expect(describeDeployment(pinned)).toContain('\n  precision  fp32 (pinned by the deployment)');
  });
});

describe('rollout status: what the fleet serves', () => {
  const VNNI = ['avx2', 'avx512f', 'avx512_vnni'];

  it('shows every version asked for, across families, with the version that runs for it and its precision', async () => {
    const { root, name, cleanup } = twoFamilies();
    try {
      const deployment = nextDeployment(
        name,
        undefined,
        '1.0.0',
        { canary: { version: '2.0.0', lines: ['line-2'], cameras: [] }, shadow: { version: 'other-family@1.0.0', sample: 0.1 }, fabrics: { '05': 'other-family@2.0.0' } },
        NOW,
      );
      const auto = await describeServing(deployment, root, 'auto', VNNI);
      expect(auto[0]).toBe("serving (precision auto: the workers' inference.precision, chosen as on this machine's CPU (avx2 avx512f avx512_vnni)):");
      expect(auto.slice(1).map((line) => line.split(' — ')[0])).toEqual([
        `  production: ${name}@1.0.0 RUNS AS ${name}@1.0.0-int8 (int8)`,
        `  canary on line-2: ${name}@2.0.0 runs as itself (fp32)`,
        '  shadow on 10.0 %: other-family@1.0.0 RUNS AS other-family@1.0.0-int8 (int8)',
        '  fabric 05: other-family@2.0.0 runs as itself (fp32)',
      ]);
      const pinned = await describeServing({ ...deployment, precision: 'fp32' }, root, 'auto', VNNI);
      expect(pinned[0]).toBe('serving (precision fp32: pinned by the deployment):');
      expect(pinned.slice(1).every((line) => line.includes('runs as itself (fp32)'))).toBe(true);
      const int8 = await describeServing({ ...deployment, precision: 'int8' }, root, 'auto', []);
      expect(int8[2]).toContain(`canary on line-2: ${name}@2.0.0 cannot run: precision is forced to int8 but version 2.0.0 has no INT8 variant`);
    } finally {
      cleanup();
    }
  });
});
