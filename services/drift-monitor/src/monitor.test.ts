import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@loomwatch/testkit';
import { int8Quantization } from '@loomwatch/model-registry/fixtures';
import type { ReferenceProfile, Verdict } from '@loomwatch/contracts';
import { judgeWindow, referenceFor, type DriftThresholds, type WindowFrame } from './checks.js';
import { DriftMonitor, type ReferenceLookup } from './monitor.js';
import { ReferenceProfiles } from './references.js';

const THRESHOLDS: DriftThresholds = { inputPsi: 0.1, inputKs: 0.1, contrast: 0.15, scorePsi: 0.25, expectedDefectRate: 0.05, defectRateP: 0.001, minScoreFrames: 8 };
const FLAT = Array<number>(16).fill(1 / 16);
const DECILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
const input = (mean: number, std: number, histogram = FLAT) => ({ frames: 10, mean, std, frameMeanStd: 1, histogram });
const PROFILE: ReferenceProfile = {
  split: 'test-split',
  input: input(128, 40),
  scores: { frames: 30, deciles: DECILES },
  fabrics: { '05': { input: input(100, 20) }, '07': { input: input(128, 40), scores: { frames: 30, deciles: DECILES.map((d) => d / 2) } } },
};
const LOOKUP: ReferenceLookup = { model: 'm', version: '1.0.0', profile: PROFILE };

function frame(score: number, options: { defect?: boolean; histogram?: number[]; std?: number } = {}): WindowFrame {
  return { inputStats: { mean: 128, std: options.std ?? 40, min: 0, max: 255, histogram: options.histogram ?? FLAT }, score, defect: options.defect ?? false };
}

let seq = 0;
function verdict(overrides: Partial<Verdict> = {}): Verdict {
  seq++;
  return {
    frameId: `line-1.cam-1.${seq}`,
    lineId: 'line-1',
    cameraId: 'cam-1',
    seq,
    capturedAt: new Date(Date.UTC(2026, 11, 4, 12, 0, seq)).toISOString(),
    decidedAt: new Date(Date.UTC(2026, 11, 4, 12, 0, seq)).toISOString(),
    verdict: 'ok',
    score: 0.55,
    normalizedScore: 0.3,
    threshold: 0.9,
    regions: [],
    model: { name: 'm', version: '1.0.0', sha256: 'a'.repeat(64) },
    anomalyMap: { bucket: 'b', key: 'map.png' },
    overlay: { bucket: 'b', key: 'overlay.jpg' },
    inputStats: { mean: 128, std: 40, min: 0, max: 255, histogram: FLAT },
    timings: {},
    workerId: 'w',
    ...overrides,
  };
}

describe('drift checks', () => {
  it('uses a fabric its own profile, and pooled scores only for frames that name no fabric', () => {
    expect(referenceFor(PROFILE, '05')).toMatchObject({ scope: 'fabric', input: { mean: 100 }, scores: undefined });
    expect(referenceFor(PROFILE, '07').scores?.deciles[0]).toBe(0.05);
    expect(referenceFor(PROFILE, '99')).toMatchObject({ scope: 'pooled', scores: undefined });
    expect(referenceFor(PROFILE, undefined)).toMatchObject({ scope: 'pooled', scores: { deciles: DECILES } });
  });

  it('judges only the input checks until the score window holds minScoreFrames', () => {
    const frames = Array.from({ length: 4 }, (_, i) => frame(0.05 + i / 10));
    expect(judgeWindow(frames, frames, referenceFor(PROFILE, undefined), THRESHOLDS).map((m) => m.check)).toEqual(['input-psi', 'input-ks', 'input-contrast']);
  });

  it('passes frames like the reference and trips on shifted ones', () => {
    const scores = Array.from({ length: 20 }, (_, i) => frame(0.025 + (i % 10) / 10));
    const calm = judgeWindow(scores.slice(-4), scores, referenceFor(PROFILE, undefined), THRESHOLDS);
    expect(calm.filter((m) => m.tripped)).toEqual([]);
    expect(calm.find((m) => m.check === 'score-psi')).toMatchObject({ value: 0, frames: 20 });

    const dark = Array<number>(16).fill(0);
    dark[0] = 1;
    const shifted = Array.from({ length: 20 }, () => frame(0.95, { defect: true, histogram: dark, std: 4 }));
    const judged = judgeWindow(shifted.slice(-4), shifted, referenceFor(PROFILE, undefined), THRESHOLDS);
    expect(judged.filter((m) => m.tripped).map((m) => m.check)).toEqual(['input-psi', 'input-ks', 'input-contrast', 'score-psi', 'defect-rate']);
    expect(judged.find((m) => m.check === 'input-contrast')?.value).toBeCloseTo(-0.9, 6);
  });

  it('raises the score-PSI threshold to the noise level of a small window', () => {
    const frames = Array.from({ length: 10 }, (_, i) => frame(0.05 + i / 10));
    const scorePsi = judgeWindow(frames, frames, referenceFor(PROFILE, undefined), THRESHOLDS).find((m) => m.check === 'score-psi');
    // chi-square(9) at 0.999 / 10 frames ≈ 2.79
    expect(scorePsi?.threshold).toBeGreaterThan(2.7);
    expect(scorePsi?.tripped).toBe(false);
  });

  it('trips the defect rate at the smallest count that is unlikely at the expected rate', () => {
    const frames = (defects: number) => Array.from({ length: 16 }, (_, i) => frame(0.5, { defect: i < defects }));
    const rate = (defects: number) => judgeWindow(frames(defects).slice(-4), frames(defects), referenceFor(PROFILE, '05'), THRESHOLDS).find((m) => m.check === 'defect-rate');
    // P(X ≥ 4 | 16, 0.05) = 0.0070, P(X ≥ 5) = 0.00086: 5 of 16 trip.
    expect(rate(4)).toMatchObject({ value: 0.25, threshold: 0.3125, tripped: false });
    expect(rate(5)).toMatchObject({ value: 0.3125, tripped: true });
  });
});

describe('drift monitor windows', () => {
  const settings = { inputFrames: 4, scoreFrames: 8, everyFrames: 2 };

  it('judges a window once it is full and then every everyFrames frames, per camera and fabric', () => {
    const monitor = new DriftMonitor(settings, THRESHOLDS, 'test');
    const at = new Date('2026-12-04T12:00:00Z');
    const judged = Array.from({ length: 8 }, () => monitor.observe(verdict({ fabricCode: '05' }), LOOKUP, at));
    expect(judged.map((event) => event !== undefined)).toEqual([false, false, false, true, false, true, false, true]);
    const last = judged[7];
    expect(last).toMatchObject({ lineId: 'line-1', cameraId: 'cam-1', fabricCode: '05', reference: { model: 'm', version: '1.0.0', split: 'test-split', scope: 'fabric' }, monitorId: 'test', evaluatedAt: at.toISOString() });
    expect(last?.window.frames).toBe(4);
    // A histogram flat against fabric 05's (mean 100, std 20) profile: the input checks see a 16-bin flat
    // histogram against another flat one, and a std twice the reference's.
    expect(last?.tripped).toEqual(['input-contrast']);
    // Another fabric on the same camera is a window of its own.
    expect(monitor.observe(verdict({ fabricCode: '07' }), LOOKUP, at)).toBeUndefined();
  });

  it('starts a window again when the model version changes, and skips verdicts without a reference', () => {
    const monitor = new DriftMonitor(settings, THRESHOLDS, 'test');
    const at = new Date();
    for (let i = 0; i < 3; i++) monitor.observe(verdict(), LOOKUP, at);
    expect(monitor.observe(verdict(), { ...LOOKUP, version: '2.0.0' }, at)).toBeUndefined();
    expect(monitor.observe(verdict(), { missing: 'no card' }, at)).toBeUndefined();
    for (let i = 0; i < 2; i++) monitor.observe(verdict(), { ...LOOKUP, version: '2.0.0' }, at);
    expect(monitor.observe(verdict(), { ...LOOKUP, version: '2.0.0' }, at)?.reference.version).toBe('2.0.0');
  });
});

describe('reference profiles from the registry', () => {
  // A throw-away registry built from the random test model's card (never a shipped model's): a
  // version with this file's PROFILE, its int8 variant without one, and a version without either.
  function registryWith(): string {
    const root = mkdtempSync(join(tmpdir(), 'drift-registry-'));
    const card = JSON.parse(readFileSync(join(REPO_ROOT, 'models/registry/draem-random/0.0.1/model.json'), 'utf8')) as Record<string, unknown>;
    const versions: [string, Record<string, unknown>][] = [
      ['1.0.0', { ...card, name: 'fabric', version: '1.0.0', reference: PROFILE }],
      ['1.0.0-int8.1', { ...card, name: 'fabric', version: '1.0.0-int8.1', reference: undefined, quantization: int8Quantization('1.0.0') }],
      ['2.0.0', { ...card, name: 'fabric', version: '2.0.0', reference: undefined }],
    ];
    for (const [version, versionCard] of versions) {
      mkdirSync(join(root, 'fabric', version), { recursive: true });
      writeFileSync(join(root, 'fabric', version, 'model.json'), JSON.stringify(versionCard));
    }
    return root;
  }

  it("reads a card's reference, falls back to a quantised variant's parent, and says why one is missing", async () => {
    const profiles = new ReferenceProfiles(registryWith());
    const sha256 = 'a'.repeat(64);
    expect(await profiles.lookup({ name: 'fabric', version: '1.0.0', sha256 })).toEqual({ model: 'fabric', version: '1.0.0', profile: PROFILE });
    expect(await profiles.lookup({ name: 'fabric', version: '1.0.0-int8.1', sha256 })).toEqual({ model: 'fabric', version: '1.0.0', profile: PROFILE });
    expect(await profiles.lookup({ name: 'fabric', version: '2.0.0', sha256 })).toMatchObject({ missing: expect.stringContaining('no reference profile') as unknown });
    expect(await profiles.lookup({ name: 'fabric', version: '9.9.9', sha256 })).toMatchObject({ missing: expect.stringContaining('9.9.9/model.json') as unknown });
    expect(await profiles.lookup({ name: '../etc', version: '1', sha256 })).toMatchObject({ missing: expect.stringContaining('not a registry name') as unknown });
  });
});
