import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger, type LedgerEntry } from './ledger.js';

const entry = (file: string, seq: number, state: LedgerEntry['state']): LedgerEntry => ({ file, size: 10, mtimeMs: 1, seq, frameId: `f-${seq}`, state, at: 5 });

describe('Ledger', () => {
  it('hands out sequence numbers that keep increasing across reopenings', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ledger-')), 'ledger.jsonl');
    const first = Ledger.open(path);
    expect(first.nextSeq()).toBe(0);
    first.record(entry('a.png', first.nextSeq(), 'pending'));
    first.record(entry('a.png', 0, 'published'));
    first.record(entry('b.png', first.nextSeq(), 'pending'));
    const again = Ledger.open(path);
    expect(again.nextSeq()).toBe(2);
    expect(again.get('a.png')?.state).toBe('published');
    expect(again.pending().map((e) => e.file)).toEqual(['b.png']);
  });

  it('keeps the pending line when the published line after it was torn by a crash', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ledger-')), 'ledger.jsonl');
    const ledger = Ledger.open(path);
    ledger.record(entry('a.png', 0, 'pending'));
    appendFileSync(path, '{"file":"a.png","size":10,"mtim');
    const reopened = Ledger.open(path);
    expect(reopened.get('a.png')?.state).toBe('pending');
    // Compaction dropped the torn fragment, so the next line is not glued onto it.
    reopened.record(entry('a.png', 0, 'published'));
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as LedgerEntry).state)).toEqual(['pending', 'published']);
    expect(Ledger.open(path).get('a.png')?.state).toBe('published');
  });
});

describe('Ledger compaction', () => {
  it('drops the entries it is told to, but keeps the highest seq so numbering goes on', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ledger-')), 'ledger.jsonl');
    const ledger = Ledger.open(path);
    for (const [seq, file] of ['a.png', 'b.png', 'c.png'].entries()) ledger.record(entry(file, seq, 'published'));
    const pruned = Ledger.open(path, { keep: () => false });
    expect(pruned.get('a.png')).toBeUndefined();
    expect(pruned.get('c.png')?.seq).toBe(2);
    expect(pruned.nextSeq()).toBe(3);
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(1);
  });
});
