import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';

/** One line of the ledger: a file's frame is about to be published, was published, or was given up. */
const LedgerEntry = z.object({
  file: z.string().min(1),
  size: z.number().nonnegative(),
  mtimeMs: z.number(),
  seq: z.int().nonnegative(),
  frameId: z.string().min(1),
  state: z.enum(['pending', 'published', 'skipped']),
  /** When the line was written (ms since epoch); brackets the publish for the topic lookup. */
  at: z.number().optional(),
});
export type LedgerEntry = z.infer<typeof LedgerEntry>;

function fsyncDir(path: string): void {
  const fd = openSync(dirname(path), 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * The hot folder's memory across restarts: a JSON-lines file, one line per state change, the
 * last line per file winning. Each line is fsynced before the step it announces. On open the
 * file is compacted to one line per file (written aside, fsynced, renamed over), which also
 * drops a line torn by a crash mid-write.
 */
export class Ledger {
  private readonly entries: Map<string, LedgerEntry>;
  private highestSeq: number;

  private constructor(
    private readonly path: string,
    entries: Map<string, LedgerEntry>,
  ) {
    this.entries = entries;
    this.highestSeq = Math.max(-1, ...[...entries.values()].map((entry) => entry.seq));
  }

  /**
   * Reads and compacts the ledger. Entries `keep` rejects are dropped, except the one with the
   * highest seq, so sequence numbers keep increasing.
   */
  static open(path: string, options: { keep?: (entry: LedgerEntry) => boolean } = {}): Ledger {
    const entries = new Map<string, LedgerEntry>();
    if (existsSync(path)) {
      for (const line of readFileSync(path, 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        let json: unknown;
        try {
          json = JSON.parse(line);
        } catch {
          continue; // a torn line: the step it announced never started (or its pending line stands)
        }
        const entry = LedgerEntry.safeParse(json);
        if (entry.success) entries.set(entry.data.file, entry.data);
      }
      const highest = [...entries.values()].reduce<LedgerEntry | undefined>((top, e) => (top === undefined || e.seq > top.seq ? e : top), undefined);
      for (const [file, entry] of entries) if (entry !== highest && options.keep?.(entry) === false) entries.delete(file);
      const compacted = [...entries.values()].map((entry) => `${JSON.stringify(entry)}\n`).join('');
      const aside = `${path}.compact`;
      const fd = openSync(aside, 'w');
      try {
        writeSync(fd, compacted);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(aside, path);
      fsyncDir(path);
    }
    return new Ledger(path, entries);
  }

  get(file: string): LedgerEntry | undefined {
    return this.entries.get(file);
  }

  /** Entries whose publish was started and not confirmed, oldest seq first. */
  pending(): LedgerEntry[] {
    return [...this.entries.values()].filter((entry) => entry.state === 'pending').sort((a, b) => a.seq - b.seq);
  }

  /** The next sequence number: one past the highest ever handed out. */
  nextSeq(): number {
    return this.highestSeq + 1;
  }

  /** Appends and fsyncs the line before returning, so the caller's next step is covered. */
  record(entry: LedgerEntry): void {
    const fd = openSync(this.path, 'a');
    try {
      writeSync(fd, `${JSON.stringify(entry)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.entries.set(entry.file, entry);
    this.highestSeq = Math.max(this.highestSeq, entry.seq);
  }
}
