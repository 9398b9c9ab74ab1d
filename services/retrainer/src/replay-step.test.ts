import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { printedJson, replayName, reportKey, reviewedFrameIds } from './replay-step.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

function entry(frameId: string, label: string): Record<string, unknown> {
  return {
    frameId,
    lineId: 'line-1',
    cameraId: 'cam-1',
    fabricCode: '01',
    image: { bucket: 'loomwatch-frames', key: `frames/${frameId}.png`, sha256: 'c'.repeat(64) },
    label,
    regions: [],
    reviewers: ['otto'],
    feedbackId: `fb-${frameId}`,
    revision: 0,
    queue: 'flagged',
    verdict: { verdict: 'defect', score: 0.9, threshold: 0.7, model: { name: 'patchcore-aitex', version: '1.2.0', sha256: 'b'.repeat(64) } },
    path: `normal/01/${frameId}.png`,
  };
}

describe('the replay step', () => {
  it('names a request\'s replay and report by the request', () => {
    expect(replayName('patchcore-aitex.01.1765108800000')).toMatch(/^retrain-[0-9a-f]{12}$/);
    expect(replayName('patchcore-aitex.01.1765108800000')).toBe(replayName('patchcore-aitex.01.1765108800000'));
    expect(replayName('patchcore-aitex.02.1765108800000')).not.toBe(replayName('patchcore-aitex.01.1765108800000'));
    expect(reportKey('r-1', 'report.html')).toBe('retrain/r-1/report/index.html');
    expect(reportKey('r-1', 'report.svg')).toBe('retrain/r-1/report/report.svg');
  });

  it('reads the reviewed frame ids of a pulled manifest, and refuses a folder that holds none', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'retrain-manifest-'));
    dirs.push(dir);
    const manifest = { id: 'a'.repeat(64), createdAt: '2026-12-07T12:00:00Z', source: { topic: 'feedback.v1', offsets: { '0': 3 } }, entries: [entry('f-1', 'false-alarm'), entry('f-2', 'ok-confirmed')] };
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
    await expect(reviewedFrameIds(join(dir, 'manifest.json'))).resolves.toEqual(['f-1', 'f-2']);
    await writeFile(join(dir, 'bad.json'), JSON.stringify({ entries: 'none' }));
    await expect(reviewedFrameIds(join(dir, 'bad.json'))).rejects.toMatchObject({ code: 'RETRAIN_INVALID', message: expect.stringContaining('is not a data set manifest') });
  });

  it('reads the JSON a command printed whole (pretty) or on its last line, and says when there is none', () => {
    expect(printedJson('{\n  "a": 1\n}\n', 'x')).toEqual({ a: 1 });
    expect(printedJson('progress…\n{"targetTopic":"t"}\n', 'x')).toEqual({ targetTopic: 't' });
    expect(() => printedJson('report: out/report.html\n', 'loomwatch replay report --json')).toThrow('loomwatch replay report --json printed no JSON: report: out/report.html');
  });
});
