import { appendFileSync, closeSync, existsSync, fsyncSync, openSync, readFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { toLoomwatchError, type FrameEvent } from '@loomwatch/contracts';
import type { Logger } from '@loomwatch/observability';
import { encodingOf, readImageFile } from './image-files.js';
import { buildFrameEvent, type FramePublisher } from './frame-publisher.js';

/** One line of the ledger: a file's frame was about to be published, or was published. */
interface LedgerEntry {
  file: string;
  size: number;
  mtimeMs: number;
  seq: number;
  frameId: string;
  state: 'pending' | 'published';
}

export interface HotFolderOptions {
  dir: string;
  lineId: string;
  cameraId: string;
  /** Append-only record of what was published; survives restarts. @defaultValue `<dir>/.loomwatch-ledger.jsonl` */
  ledgerPath?: string;
  /** A file counts as complete when its size and mtime have not changed for this long. @defaultValue 500 */
  settleMs?: number;
  /** @defaultValue 200 */
  pollMs?: number;
  logger: Logger;
  /**
   * Asked on restart for a frame whose publish was started but not recorded as done: true when
   * the frame is already on the topic, so it is not published twice.
   */
  alreadyPublished: (frameId: string) => Promise<boolean>;
  onPublished?: (event: FrameEvent, file: string) => void;
}

/** Camera software writes into temporary names first; those and dotfiles are never frames. */
function isCandidate(name: string): boolean {
  return !name.startsWith('.') && !/\.(tmp|part|partial|crdownload)$/i.test(name) && encodingOf(name) !== undefined;
}

function readLedger(path: string): Map<string, LedgerEntry> {
  const entries = new Map<string, LedgerEntry>();
  if (!existsSync(path)) return entries;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      const entry = JSON.parse(line) as LedgerEntry;
      entries.set(entry.file, entry);
    } catch {
      // A torn last line from a crash mid-write: the frame it described is still pending.
    }
  }
  return entries;
}

/**
 * Watches a directory the way line-scan camera software drops files: each complete file is
 * uploaded and published once, in name order, and a restart neither re-publishes nor skips.
 */
export class HotFolder {
  private readonly options: HotFolderOptions;
  private readonly ledgerPath: string;
  private readonly ledger: Map<string, LedgerEntry>;
  private readonly seen = new Map<string, { size: number; mtimeMs: number; since: number }>();
  private readonly rejected = new Map<string, { size: number; mtimeMs: number }>();
  private nextSeq: number;
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly publisher: FramePublisher, options: HotFolderOptions) {
    this.options = options;
    this.ledgerPath = options.ledgerPath ?? join(options.dir, '.loomwatch-ledger.jsonl');
    this.ledger = readLedger(this.ledgerPath);
    this.nextSeq = Math.max(0, ...[...this.ledger.values()].map((entry) => entry.seq + 1));
  }

  /** Finishes what a crash interrupted, then polls the folder until `stop()`. */
  async start(): Promise<void> {
    await this.recoverPending();
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.scanning;
  }

  /** One pass over the folder; exposed so tests can step without timers. */
  scanOnce(): Promise<void> {
    this.scanning = this.scanning.then(() => this.scan());
    return this.scanning;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.scanOnce().finally(() => this.schedule());
    }, this.options.pollMs ?? 200);
  }

  private record(entry: LedgerEntry): void {
    const fd = openSync(this.ledgerPath, 'a');
    try {
      appendFileSync(fd, `${JSON.stringify(entry)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.ledger.set(entry.file, entry);
  }

  private async recoverPending(): Promise<void> {
    for (const entry of [...this.ledger.values()].filter((e) => e.state === 'pending')) {
      if (await this.options.alreadyPublished(entry.frameId)) {
        this.record({ ...entry, state: 'published' });
        this.options.logger.info({ file: entry.file, frameId: entry.frameId }, 'pending frame was already published');
      } else if (existsSync(join(this.options.dir, entry.file))) {
        await this.publishFile(entry.file, entry.seq);
      }
    }
  }

  private async scan(): Promise<void> {
    if (this.stopped) return;
    const names = (await readdir(this.options.dir)).filter(isCandidate).sort();
    const now = Date.now();
    for (const name of names) {
      if (this.stopped) return;
      if (this.ledger.get(name)?.state === 'published') continue;
      let info;
      try {
        info = await stat(join(this.options.dir, name));
      } catch {
        continue; // renamed or removed since the listing
      }
      if (!info.isFile() || info.size === 0) continue;
      const bad = this.rejected.get(name);
      if (bad !== undefined && bad.size === info.size && bad.mtimeMs === info.mtimeMs) continue;
      const previous = this.seen.get(name);
      if (previous === undefined || previous.size !== info.size || previous.mtimeMs !== info.mtimeMs) {
        this.seen.set(name, { size: info.size, mtimeMs: info.mtimeMs, since: now });
        continue;
      }
      if (now - previous.since < (this.options.settleMs ?? 500)) continue;
      this.seen.delete(name);
      await this.publishFile(name, this.ledger.get(name)?.seq);
    }
  }

  private async publishFile(name: string, knownSeq: number | undefined): Promise<void> {
    const path = join(this.options.dir, name);
    try {
      const file = await readImageFile(path);
      const seq = knownSeq ?? this.nextSeq++;
      const frame = {
        lineId: this.options.lineId,
        cameraId: this.options.cameraId,
        seq,
        capturedAt: new Date((await stat(path)).mtimeMs),
        image: file.body,
        width: file.width,
        height: file.height,
        encoding: file.encoding,
        attributes: { sourceFile: name.slice(0, 256) },
      };
      const planned = buildFrameEvent(frame, 'unused');
      const info = await stat(path);
      this.record({ file: name, size: info.size, mtimeMs: info.mtimeMs, seq, frameId: planned.frameId, state: 'pending' });
      const event = await this.publisher.publish(frame);
      this.record({ file: name, size: info.size, mtimeMs: info.mtimeMs, seq, frameId: event.frameId, state: 'published' });
      this.options.onPublished?.(event, name);
    } catch (thrown) {
      const error = toLoomwatchError(thrown);
      this.options.logger.error({ file: name, code: error.code }, `cannot publish ${name}: ${error.message}`);
      // A bad file is left in place and tried again only once it changes; a transient failure is retried.
      if (!error.retryable) {
        const info = await stat(path).catch(() => undefined);
        if (info !== undefined) this.rejected.set(name, { size: info.size, mtimeMs: info.mtimeMs });
      }
    }
  }
}
