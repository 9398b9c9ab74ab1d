import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelCard } from '@loomwatch/contracts';
import { aitexDir, aitexFrames, builtEntry, REPO_ROOT } from '@loomwatch/testkit';
import { thresholdAt } from '../core/scoring.js';

const CLI = builtEntry('packages/inference/dist/cli/infer.js');
const RESULT_KEYS = ['image', 'width', 'height', 'score', 'normalizedScore', 'threshold', 'calibration', 'verdict', 'regions', 'model', 'timings'];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  lines: Record<string, unknown>[];
}

function infer(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      const lines = stdout
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      resolve({ code, stdout, stderr, lines });
    });
  });
}

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

describe('the infer command on AITEX frames with the random DRAEM', () => {
  let dir: string;
  const frames = aitexFrames();
  // Two defect frames and a normal one stored as grey + opaque alpha.
  const good = [frames.find((f) => f.name === '0001_002_00'), frames.find((f) => f.roll === '2311517-195063u' && f.name === '0001_000_04'), frames.at(-1)].map((f) => f?.path ?? '');
  const bad: Record<string, string> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'loomwatch-infer-'));
    const png = readFileSync(good[0] ?? '');
    const small = await sharp(Buffer.alloc(4096 * 200, 90), { raw: { width: 4096, height: 200, channels: 1 } }).toColourspace('b-w').png().toBuffer();
    const bomb = Buffer.from(small);
    bomb.writeUInt32BE(60000, 16);
    bomb.writeUInt32BE(60000, 20);
    bomb.writeUInt32BE(crc32(bomb.subarray(12, 29)), 29);
    const files: [code: string, name: string, body: Buffer][] = [
      ['IMAGE_EMPTY', 'empty.png', Buffer.alloc(0)],
      ['IMAGE_UNSUPPORTED_FORMAT', 'notes.png', Buffer.from('line 3, camera 2: lens cleaned\n')],
      ['IMAGE_CORRUPT', 'truncated.png', png.subarray(0, png.length >> 1)],
      ['IMAGE_CHANNELS_UNSUPPORTED', 'rgb.png', await sharp({ create: { width: 4096, height: 256, channels: 3, background: '#a05020' } }).png().toBuffer()],
      ['IMAGE_DEPTH_UNSUPPORTED', 'grey16.png', await sharp(Buffer.alloc(512 * 256, 120), { raw: { width: 512, height: 256, channels: 1 } }).toColourspace('grey16').png().toBuffer()],
      ['IMAGE_TOO_SMALL', 'small.png', small],
      ['IMAGE_TOO_LARGE', 'bomb.png', bomb],
    ];
    for (const [code, name, body] of files) {
      writeFileSync(join(dir, name), body);
      bad[code] = join(dir, name);
    }
    bad.IMAGE_NOT_FOUND = join(dir, 'missing.png');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints one JSON line per image, writes maps and overlays, and reports each bad input with its code', async () => {
    const maps = join(dir, 'maps');
    const overlays = join(dir, 'overlays');
    const badPaths = Object.values(bad);
    // Bad inputs between good ones: each failure must leave the following images unaffected.
    const inputs = [good[0] ?? '', ...badPaths.slice(0, 4), good[1] ?? '', ...badPaths.slice(4), good[2] ?? ''];
    const run = await infer(['--model', 'draem-random', '--maps-dir', maps, '--overlays-dir', overlays, '--threads', '2', ...inputs]);

    expect(run.code).toBe(1);
    expect(run.lines.map((line) => line.image)).toEqual(inputs);
    const results = run.lines.filter((line) => !('error' in line));
    expect(results.map((line) => line.image)).toEqual(good);
    for (const line of results) {
      expect(Object.keys(line)).toEqual(RESULT_KEYS);
      expect(line).toMatchObject({ width: 4096, height: 256, model: { name: 'draem-random', version: '0.0.1' }, calibration: { fabric: null, falseAlarmRate: null } });
      expect(['ok', 'defect']).toContain(line.verdict);
      expect(line.verdict).toBe((line.score as number) >= (line.threshold as number) ? 'defect' : 'ok');
      expect(line.normalizedScore).toBeGreaterThanOrEqual(0);
      expect(line.normalizedScore).toBeLessThanOrEqual(1);
      expect(Object.keys(line.timings as object)).toEqual(['decodeMs', 'inferMs', 'postMs', 'totalMs']);
      for (const region of line.regions as Record<string, unknown>[]) {
        expect(Object.keys(region)).toEqual(['x', 'y', 'width', 'height', 'area', 'maxScore', 'meanScore']);
      }
    }
    const codes = Object.fromEntries(run.lines.filter((line) => 'error' in line).map((line) => [line.image, (line.error as { code: string }).code]));
    expect(codes).toEqual(Object.fromEntries(Object.entries(bad).map(([code, path]) => [path, code])));

    for (const frame of good) {
      const name = frame.split('/').pop() ?? '';
      const map = await sharp(join(maps, name)).metadata();
      expect([map.format, map.width, map.height, map.channels, map.depth]).toEqual(['png', 4096, 256, 1, 'uchar']);
      const overlay = await sharp(join(overlays, name)).metadata();
      expect([overlay.format, overlay.width, overlay.height, overlay.channels]).toEqual(['png', 4096, 256, 3]);
    }
    expect(existsSync(join(maps, 'empty.png'))).toBe(false);
  });

  it('takes a directory as its image files, sorted, and exits 0 when all succeed', async () => {
    const folder = join(dir, 'folder');
    mkdirSync(join(folder, 'nested'), { recursive: true });
    copyFileSync(good[0] ?? '', join(folder, 'b.png'));
    copyFileSync(good[2] ?? '', join(folder, 'a.png'));
    copyFileSync(good[0] ?? '', join(folder, 'nested', 'c.png'));
    writeFileSync(join(folder, 'README.txt'), 'not an image');
    const run = await infer(['--model', 'draem-random@0.0.1', folder]);
    expect(run.code).toBe(0);
    expect(run.lines.map((line) => line.image)).toEqual([join(folder, 'a.png'), join(folder, 'b.png'), join(folder, 'nested', 'c.png')]);
    expect(run.lines[1]?.score).toBe(run.lines[2]?.score);
  });

  it('exits 2 with a typed error on stderr and nothing on stdout when the model cannot be loaded', async () => {
    const run = await infer(['--model', 'no-such-model', good[0] ?? '']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('"code":"MODEL_NOT_FOUND"');
  });
});

interface PythonScore {
  file: string;
  score: number;
  label: number;
  fabric: string;
}

// One engine, every family: each trained model's production version, scored by the unchanged engine.
describe.each(['draem-aitex', 'patchcore-aitex'])('the infer command on the production %s model', (model) => {
  const registry = join(REPO_ROOT, 'models/registry', model);
  const { version } = JSON.parse(readFileSync(join(registry, 'production.json'), 'utf8')) as { version: string };
  // The model pipeline's evaluation of this very ONNX (Python: PIL decode, numpy tiling, torch smoothing).
  const scores = JSON.parse(readFileSync(join(registry, version, 'eval/scores.json'), 'utf8')) as PythonScore[];
  const picked = [
    scores.find((s) => s.label === 0 && s.fabric !== '04'),
    scores.find((s) => s.label === 0 && s.fabric === '04'),
    ...scores.filter((s) => s.label === 1).slice(0, 2),
  ].filter((s): s is PythonScore => s !== undefined);

  it('scores validation frames within 1e-3 of the Python evaluation, with the version the marker names', { timeout: 120_000 }, async () => {
    expect(picked).toHaveLength(4);
    // Each frame with its fabric code, as the Python evaluation routed it (a routed version runs that fabric's bank).
    const runs = await Promise.all(picked.map((s) => infer(['--model', model, '--threads', '1', '--fabric', s.fabric, join(aitexDir(), s.file)])));
    expect(runs.map((run) => run.code)).toEqual(picked.map(() => 0));
    const measured = runs.flatMap((run) => run.lines).map((line) => ({ image: line.image, model: line.model, score: line.score as number }));
    expect(measured.map((m) => m.model)).toEqual(picked.map(() => expect.objectContaining({ name: model, version }) as unknown));
    const diffs = measured.map((m, i) => Math.abs(m.score - (picked[i]?.score ?? NaN)));
    expect(Math.max(...diffs), JSON.stringify({ measured, python: picked })).toBeLessThanOrEqual(1e-3);
  });

  it("judges a frame by its fabric's calibration when --fabric names one the card has, by the pooled one otherwise", { timeout: 120_000 }, async () => {
    const { postprocess, routing } = JSON.parse(readFileSync(join(registry, version, 'model.json'), 'utf8')) as ModelCard;
    const frame = picked[2] ?? picked[0];
    // A card carries per-fabric thresholds only where they won out of sample (models/README.md).
    const fabric = postprocess.fabrics?.[frame?.fabric ?? ''];
    const image = join(aitexDir(), frame?.file ?? '');
    const [own, unknown] = await Promise.all([
      infer(['--model', model, '--threads', '1', '--fabric', frame?.fabric ?? '', image]),
      infer(['--model', model, '--threads', '1', '--fabric', 'no-such-fabric', image]),
    ]);
    const threshold = fabric?.imageThreshold ?? postprocess.imageThreshold;
    expect(own.lines[0]).toMatchObject({ threshold, ...(fabric === undefined ? {} : { calibratedFabric: frame?.fabric }) });
    expect(own.lines[0]?.verdict).toBe((own.lines[0]?.score as number) >= threshold ? 'defect' : 'ok');
    expect(unknown.lines[0]).toMatchObject({ threshold: postprocess.imageThreshold });
    expect(unknown.lines[0]).not.toHaveProperty('calibratedFabric');
    if (routing === undefined) expect(unknown.lines[0]?.score).toBe(own.lines[0]?.score);
    // A routed version runs its fallback bank for a fabric it does not know: another bank, another score.
    else expect(unknown.lines[0]?.score).not.toBe(own.lines[0]?.score);
  });
  it('judges a frame at --false-alarm-rate where its calibration has operating points, and names the calibration and rate it used', { timeout: 120_000 }, async () => {
    const { postprocess } = JSON.parse(readFileSync(join(registry, version, 'model.json'), 'utf8')) as ModelCard;
    const frame = picked[0];
    const calibration = postprocess.fabrics?.[frame?.fabric ?? ''];
    const points = (calibration ?? postprocess).operatingPoints?.points;
    const run = await infer(['--model', model, '--threads', '1', '--fabric', frame?.fabric ?? '', '--false-alarm-rate', '0.01', join(aitexDir(), frame?.file ?? '')]);
    expect(run.code, run.stderr).toBe(0);
    const line = run.lines[0];
    expect(line?.calibration).toMatchObject({ fabric: calibration === undefined ? null : frame?.fabric });
    if (points === undefined) {
      // A card without operating points is judged at its threshold, at no stated rate.
      expect(line).toMatchObject({ threshold: (calibration ?? postprocess).imageThreshold, calibration: { falseAlarmRate: null } });
      expect(line).not.toHaveProperty('falseAlarmRate');
    } else {
      const expected = thresholdAt(points, 0.01);
      expect(line).toMatchObject({ falseAlarmRate: expected.falseAlarmRate, calibration: { falseAlarmRate: expected.falseAlarmRate } });
      expect(line?.threshold).toBeCloseTo(expected.imageThreshold, 12);
    }
    expect(line?.verdict).toBe((line?.score as number) >= (line?.threshold as number) ? 'defect' : 'ok');
  });
});
