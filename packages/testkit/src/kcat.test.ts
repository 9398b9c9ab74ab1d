import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readJsonLines } from './kcat.js';

describe('readJsonLines', () => {
  let dir = '';
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'kcat-test-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads lines longer than its chunk and across chunk edges, multi-byte characters included', () => {
    const long = 'é'.repeat(5 * 1024 * 1024); // 10 MB of UTF-8: longer than one 8 MB chunk
    const lines = [{ payload: 'a' }, { payload: long }, { payload: 'ü' }, { payload: 'last, no newline' }];
    const file = join(dir, 'records.jsonl');
    writeFileSync(file, `${lines.map((line) => JSON.stringify(line)).join('\n')}`);
    const read = readJsonLines<{ payload: string }>(file);
    expect(read.map((r) => r.payload.length)).toEqual(lines.map((l) => l.payload.length));
    expect(read[1]?.payload === long).toBe(true);
    expect(read[2]?.payload).toBe('ü');
  });

  it('skips blank lines', () => {
    const file = join(dir, 'blank.jsonl');
    writeFileSync(file, '{"n":1}\n\n{"n":2}\n');
    expect(readJsonLines<{ n: number }>(file)).toEqual([{ n: 1 }, { n: 2 }]);
  });
});
