import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LoomwatchError, MAX_REPLAY_FRAME_IDS } from '@loomwatch/contracts';
import { parseFrameIds, readFrameIdsFile } from './frame-ids.js';

function refusal(run: () => unknown): LoomwatchError {
  try {
    run();
  } catch (err) {
    if (err instanceof LoomwatchError) return err;
    throw err;
  }
  throw new Error('expected a LoomwatchError, nothing was thrown');
}

describe('--frame-ids files', () => {
  it('read one id a line, ignoring blank lines, comments and surrounding spaces, sorted and distinct', () => {
    expect(parseFrameIds('# reviewed on line 1\nf-3\n\n  f-1  \r\nf-3\n', 'ids.txt')).toEqual(['f-1', 'f-3']);
  });

  it('read a JSON array of ids', () => {
    expect(parseFrameIds(' ["f-2", "f-1", "f-2"]\n', 'ids.json')).toEqual(['f-1', 'f-2']);
  });

  it('refuse a bad id, naming its line or element and what to write', () => {
    const line = refusal(() => parseFrameIds('f-1\nf 2\n', 'ids.txt'));
    expect(line.code).toBe('REPLAY_INVALID');
    expect(line.message).toMatch(/--frame-ids ids.txt: line 2 \("f 2"\) is not a frame id/);
    expect(refusal(() => parseFrameIds('["f-1", 7]', 'ids.json')).message).toMatch(/element 1 \(7\) is not a frame id/);
    expect(refusal(() => parseFrameIds(`${'x'.repeat(129)}\n`, 'ids.txt')).message).toMatch(/line 1 .* is not a frame id/);
  });

  it('refuse JSON that is broken or not an array, an empty list and too many ids', () => {
    expect(refusal(() => parseFrameIds('["f-1",', 'ids.json')).message).toMatch(/not valid JSON .*write a JSON array of frame ids, or one id a line/);
    expect(refusal(() => parseFrameIds('{"ids":["f-1"]}', 'ids.json')).message).toMatch(/frame-ids ids.json/);
    expect(refusal(() => parseFrameIds('[]', 'ids.json')).message).toMatch(/names no frame/);
    expect(refusal(() => parseFrameIds('# nothing yet\n\n', 'ids.txt')).message).toMatch(/names no frame/);
    const many = Array.from({ length: MAX_REPLAY_FRAME_IDS + 1 }, (_, i) => `f-${i}`).join('\n');
    expect(refusal(() => parseFrameIds(many, 'ids.txt')).message).toMatch(/at most 20000: split them into several replays/);
    const long = Array.from({ length: 7000 }, (_, i) => `${String(i).padStart(6, '0')}-${'x'.repeat(120)}`).join('\n');
    expect(refusal(() => parseFrameIds(long, 'ids.txt')).message).toMatch(/bytes in the plan, more than its 800000/);
  });

  it('refuse a file that cannot be read, saying so', () => {
    const missing = join(mkdtempSync(join(tmpdir(), 'frame-ids-')), 'nope.txt');
    const error = refusal(() => readFrameIdsFile(missing));
    expect(error.code).toBe('REPLAY_INVALID');
    expect(error.message).toMatch(/cannot be read \(ENOENT\)/);
    const file = join(mkdtempSync(join(tmpdir(), 'frame-ids-')), 'ids.txt');
    writeFileSync(file, 'f-9\nf-8\n');
    expect(readFrameIdsFile(file)).toEqual(['f-8', 'f-9']);
  });
});
