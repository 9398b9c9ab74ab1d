import { describe, expect, it } from 'vitest';
import { ERROR_CODES, type FrameEvent } from '@loomwatch/contracts';
import { countOutcomes, overTime, passed, type Inputs } from './counts.js';
import { POISON_KINDS, poisonFrame, poisonImages } from './poison.js';

const inputs = (): Inputs => ({
  frames: new Map([
    ['f1', 1],
    ['f2', 1],
    ['f3', 2],
  ]),
  poison: new Map([
    ['soak-poison-0', 'MESSAGE_NOT_JSON'],
    ['soak-poison-1', 'IMAGE_EMPTY'],
  ]),
});
const letter = (code: string, tag: string) => ({ code, originalValue: `{"frameId":"${tag}.line.cam", ...}` });

describe('soak counts', () => {
  it('passes when every input record has exactly one outcome, a twice-published frame two', () => {
    const counts = countOutcomes(inputs(), { verdicts: ['f1', 'f2', 'f3', 'f3'], deadLetters: [letter('MESSAGE_NOT_JSON', 'soak-poison-0'), letter('IMAGE_EMPTY', 'soak-poison-1')] });
    expect(counts).toMatchObject({ goodFrames: 3, exactlyOnce: 3, duplicatedInputs: 1, poisonFrames: 2, poisonDeadLettered: 2, byCode: { MESSAGE_NOT_JSON: 1, IMAGE_EMPTY: 1 } });
    expect(passed(counts)).toBe(true);
  });

  it('fails on a missing or doubled verdict, a verdict for nothing sent, and each kind of dead-letter fault', () => {
    const counts = countOutcomes(inputs(), {
      verdicts: ['f1', 'f1', 'f3', 'ghost'],
      deadLetters: [letter('IMAGE_CORRUPT', 'soak-poison-1'), letter('IMAGE_CORRUPT', 'soak-poison-1'), { code: 'STORAGE_UNAVAILABLE', originalValue: '{"frameId":"f2"}' }],
    });
    expect(counts.missingVerdicts.sort()).toEqual(['f2', 'f3']);
    expect(counts.extraVerdicts.sort()).toEqual(['f1', 'ghost']);
    expect(counts.poisonMissing).toEqual(['soak-poison-0']);
    expect(counts.poisonDuplicated).toEqual(['soak-poison-1']);
    expect(counts.unexpectedDeadLetters).toHaveLength(1);
    expect(passed(counts)).toBe(false);
    const wrong = countOutcomes(inputs(), { verdicts: ['f1', 'f2', 'f3', 'f3'], deadLetters: [letter('MESSAGE_NOT_JSON', 'soak-poison-0'), letter('IMAGE_CORRUPT', 'soak-poison-1')] });
    expect(wrong.poisonWrongCode).toEqual(['soak-poison-1: IMAGE_CORRUPT instead of IMAGE_EMPTY']);
    expect(passed(wrong)).toBe(false);
  });

  it('reports throughput and latency percentiles per window', () => {
    const windows = overTime([{ decidedAt: 1000, latencyMs: 100 }, { decidedAt: 2000, latencyMs: 300 }, { decidedAt: 25_000, latencyMs: 50 }], 0, 10);
    expect(windows).toEqual([
      // Interpolated between ranks (@loomwatch/observability quantile): 100 and 300 → p50 200, p99 298.
      { at: 0, framesPerSecond: 0.2, p50Ms: 200, p99Ms: 298 },
      { at: 10, framesPerSecond: 0, p50Ms: NaN, p99Ms: NaN },
      { at: 20, framesPerSecond: 0.1, p50Ms: 50, p99Ms: 50 },
    ]);
  });
});

describe('soak poison', () => {
  it('cycles through 14 kinds, each a distinct dead-letter code, each tagged near the start of its message', async () => {
    const images = await poisonImages();
    const good = Buffer.from('png bytes');
    const valid: FrameEvent = {
      frameId: 'soak.l.c.1',
      lineId: 'l',
      cameraId: 'c',
      seq: 1,
      capturedAt: '2026-12-04T12:00:00.000Z',
      image: { bucket: 'loomwatch-frames', key: 'frames/l/c/1.png', width: 4096, height: 256, encoding: 'png', bytes: 9, sha256: 'a'.repeat(64) },
    };
    const frames = Array.from({ length: POISON_KINDS }, (_, n) => poisonFrame(n, valid, good, images, 'loomwatch-frames'));
    expect(new Set(frames.map((frame) => frame.code)).size).toBe(POISON_KINDS);
    for (const frame of frames) {
      expect(ERROR_CODES).toContain(frame.code);
      expect(frame.value.subarray(0, 400).toString('latin1')).toContain(frame.tag);
    }
    expect(poisonFrame(POISON_KINDS, valid, good, images, 'loomwatch-frames').code).toBe(frames[0]?.code);
  });
});
