import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { toLoomwatchError, type FrameEvent, type LoomwatchError } from '@loomwatch/contracts';
import type { Logger } from '@loomwatch/observability';
import { buildFrameEvent, type CapturedFrame, type FramePublisher } from './frame-publisher.js';
import { fabricOfFile, type FabricSettings } from './fabric.js';
import { encodingOf, readImageFile } from './image-files.js';
import { Ledger, type LedgerEntry } from './ledger.js';
import type { LookupWindow } from './published-frames.js';

interface HotFolderOptions extends FabricSettings {
  dir: string;
  lineId: string;
  cameraId: string;
  /** Append-only record of what was published; survives restarts. @defaultValue `<dir>/.loomwatch-ledger.jsonl` */
  ledgerPath?: string;
  /** A file counts as settled when its size and mtime have not changed for this long. @defaultValue 500 */
  settleMs?: number;
  /** @defaultValue 200 */
  pollMs?: number;
  logger: Logger;
  /**
   * Asked about a frame whose publish was started but not recorded as done (a crash, or a send
   * that failed): true when the frame is on the topic, so it is not published twice. The window
   * brackets when the publish was started; undefined for ledger entries without a time.
   */
  alreadyPublished: (frameId: string, window: LookupWindow | undefined) => Promise<boolean>;
  onPublished?: (event: FrameEvent, file: string) => void;
  /** A file that will not be published (unreadable, not an image) until it changes. */
  onRejected?: (file: string, error: LoomwatchError) => void;
}

/** Broker timestamps of a publish started at `at` fall in this window (upload retries included). */
const WINDOW_BEFORE_MS = 5 * 60_000;
const WINDOW_AFTER_MS = 15 * 60_000;

/** Camera software writes into temporary names first; those and dotfiles are never frames. `name` is a file's name, without its folder. */
export function isCandidate(name: string): boolean {
  return !name.startsWith('.') && !name.startsWith('~') && !/\.(tmp|part|partial|crdownload|swp)$/i.test(name) && encodingOf(name) !== undefined;
}

interface Seen {
  size: number;
  mtimeMs: number;
}

/**
 * Watches a directory the way line-scan camera software drops files: each complete file is
 * uploaded and published once, and a restart neither re-publishes nor skips.
 *
 * - Complete: the file's size and mtime held still for `settleMs` (seen on two scans), and its
 *   bytes end the way a whole image of its format ends (see `looksComplete`).
 * - Once: before each publish the ledger gets a `pending` line (file, seq, frame id, time), fsynced;
 *   after it, a `published` line. On restart, and after a failed send, a pending frame is looked
 *   up on the topic before it is published again with the same seq, hence the same frame id.
 * - Order: files are taken in name order, and a transient failure ends the pass, so sequence
 *   numbers increase in publish order and survive restarts (the ledger holds the highest).
 * - Bad files (not an image, unreadable) are logged once and skipped until they change.
 * - A published name is never published again while its ledger line stands; the line is dropped
 *   at the next start once the file is gone, so a name may come back after retention.
 * - Fabric: each frame's `product.fabricCode` is its subfolder's (`fabricBySubfolder`, whose
 *   subfolders are watched too, one level down), else the folder's (`fabricCode`), else the one
 *   its AITEX-style name carries (`fabricOfFile`); a frame none names goes out without one.
 */
export class HotFolder {
  private readonly options: HotFolderOptions;
  private readonly ledger: Ledger;
  private readonly seen = new Map<string, Seen & { since: number }>();
  private readonly rejected = new Map<string, Seen>();
  /** `config/name` fabric pairs already warned about. */
  private readonly overrides = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly publisher: FramePublisher,
    options: HotFolderOptions,
  ) {
    this.options = options;
    // Decided entries of files gone from the folder (retention) are dropped; the seq stays.
    this.ledger = Ledger.open(options.ledgerPath ?? join(options.dir, '.loomwatch-ledger.jsonl'), {
      keep: (entry) => entry.state === 'pending' || existsSync(join(options.dir, entry.file)),
    });
  }

  /** Settles what a crash left pending, then polls the folder until `stop()`. */
  async start(): Promise<void> {
    await this.recoverPending();
    this.schedule();
  }

  /** Finishes the scan under way (a publish is never cut in half) and stops polling. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.scanning.catch(() => undefined);
  }

  /** One pass over the folder; exposed so tests can step without timers. */
  scanOnce(): Promise<void> {
    this.scanning = this.scanning.catch(() => undefined).then(() => this.scan());
    return this.scanning;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.scanOnce()
        .catch((err: unknown) => this.options.logger.error({ dir: this.options.dir, err }, `cannot scan the hot folder: ${(err as Error).message}`))
        .finally(() => this.schedule());
    }, this.options.pollMs ?? 200);
  }

  /** Pending frames whose file is gone: published if on the topic, else reported as lost. */
  private async recoverPending(): Promise<void> {
    for (const entry of this.ledger.pending()) {
      const exists = await stat(join(this.options.dir, entry.file)).then(
        (info) => info.isFile(),
        () => false,
      );
      if (exists) continue; // the first scan finishes it, before any new file
      if (await this.options.alreadyPublished(entry.frameId, windowOf(entry))) {
        this.ledger.record({ ...entry, state: 'published' });
      } else {
        this.options.logger.error({ file: entry.file, frameId: entry.frameId }, `${entry.file} was removed before its frame was published`);
        this.ledger.record({ ...entry, state: 'skipped' });
      }
    }
  }

  private async scan(): Promise<void> {
    if (this.stopped) return;
    // Unfinished publishes first, in seq order, so sequence numbers stay in publish order.
    for (const entry of this.ledger.pending()) {
      if (this.stopped) return;
      const info = await stat(join(this.options.dir, entry.file)).catch(() => undefined);
      if (info === undefined || this.isRejected(entry.file, info)) continue;
      if (!(await this.publishFile(entry.file))) return;
    }
    const names = await this.listCandidates();
    this.forgetAllBut(new Set(names));
    const now = Date.now();
    for (const name of names) {
      if (this.stopped) return;
      // Decided files are not even stat'ed: a folder keeps its published files until retention.
      const state = this.ledger.get(name)?.state;
      if (state === 'published' || state === 'skipped') continue;
      let info;
      try {
        info = await stat(join(this.options.dir, name));
      } catch {
        continue; // renamed or removed since the listing
      }
      if (!info.isFile() || info.size === 0) continue;
      if (this.isRejected(name, info)) continue;
      const previous = this.seen.get(name);
      if (previous === undefined || previous.size !== info.size || previous.mtimeMs !== info.mtimeMs) {
        this.seen.set(name, { size: info.size, mtimeMs: info.mtimeMs, since: now });
        continue;
      }
      if (now - previous.since < (this.options.settleMs ?? 500)) continue;
      this.seen.delete(name);
      if (!(await this.publishFile(name))) return;
    }
  }

  /**
   * The candidate files of the folder and of its configured subfolders (one level), as paths
   * relative to the folder (`name.png`, `sub/name.png`), sorted. A subfolder that does not exist
   * (yet) holds nothing.
   */
  private async listCandidates(): Promise<string[]> {
    const names = (await readdir(this.options.dir)).filter(isCandidate);
    for (const subfolder of Object.keys(this.options.fabricBySubfolder ?? {})) {
      const inner = await readdir(join(this.options.dir, subfolder)).catch((err: unknown) => {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return [];
        throw err;
      });
      names.push(...inner.filter(isCandidate).map((name) => `${subfolder}/${name}`));
    }
    return names.sort();
  }

  /** Drops what is remembered about files no longer in the folder. */
  private forgetAllBut(names: ReadonlySet<string>): void {
    for (const map of [this.seen, this.rejected]) for (const name of map.keys()) if (!names.has(name)) map.delete(name);
  }

  /** Publishes one file; false when a transient failure should end the pass. */
  private async publishFile(name: string): Promise<boolean> {
    const path = join(this.options.dir, name);
    let frame: CapturedFrame;
    let info: Seen;
    try {
      const before = await stat(path);
      const file = await readImageFile(path);
      info = { size: file.body.length, mtimeMs: before.mtimeMs };
      const fabric = this.fabricOf(name);
      frame = {
        lineId: this.options.lineId,
        cameraId: this.options.cameraId,
        seq: 0,
        capturedAt: new Date(before.mtimeMs),
        image: file.body,
        width: file.width,
        height: file.height,
        encoding: file.encoding,
        ...(fabric === undefined ? {} : { product: { fabricCode: fabric } }),
        attributes: { sourceFile: name.slice(0, 256) },
      };
    } catch (thrown) {
      if ((thrown as NodeJS.ErrnoException).code === 'ENOENT') return true; // removed meanwhile
      await this.reject(name, toLoomwatchError(thrown));
      return true;
    }

    try {
      const entry = this.ledger.get(name);
      if (entry?.state === 'pending' && (await this.options.alreadyPublished(entry.frameId, windowOf(entry)))) {
        this.ledger.record({ ...entry, state: 'published' });
        this.options.logger.info({ file: name, frameId: entry.frameId }, `${name} was already published`);
        return true;
      }
      frame.seq = entry?.seq ?? this.ledger.nextSeq();
      const planned = buildFrameEvent(frame, this.publisher.bucket);
      const pending: LedgerEntry = { file: name, ...info, seq: frame.seq, frameId: planned.frameId, state: 'pending', at: Date.now() };
      this.ledger.record(pending);
      const event = await this.publisher.publish(frame);
      this.ledger.record({ ...pending, state: 'published' });
      this.rejected.delete(name);
      this.options.onPublished?.(event, name);
      return true;
    } catch (thrown) {
      const error = toLoomwatchError(thrown);
      if (!error.retryable) {
        await this.reject(name, error);
        return true;
      }
      this.options.logger.warn({ file: name, code: error.code }, `cannot publish ${name} yet, will retry: ${error.message}`);
      return false;
    }
  }

  /** The file's fabric (see `fabricOfFile`); says once per pair when the config overrides what a name says. */
  private fabricOf(name: string): string | undefined {
    const choice = fabricOfFile(name, this.options);
    if (choice?.overriddenName !== undefined) {
      const pair = `${choice.fabricCode}/${choice.overriddenName}`;
      if (!this.overrides.has(pair)) {
        this.overrides.add(pair);
        const setting = choice.from === 'subfolder' ? `hotFolder.fabricBySubfolder of ${name.slice(0, name.indexOf('/'))}` : 'hotFolder.fabricCode';
        this.options.logger.warn(
          { file: name, fabricCode: choice.fabricCode, fileNameFabric: choice.overriddenName },
          `${basename(name)} is named like fabric ${choice.overriddenName}, but ${setting} says ${choice.fabricCode}: the config wins (said once per pair)`,
        );
      }
    }
    return choice?.fabricCode;
  }

  private isRejected(name: string, info: Seen): boolean {
    const bad = this.rejected.get(name);
    return bad !== undefined && bad.size === info.size && bad.mtimeMs === info.mtimeMs;
  }

  private async reject(name: string, error: LoomwatchError): Promise<void> {
    const incomplete = error.details['incomplete'] === true;
    const info = await stat(join(this.options.dir, name)).catch(() => undefined);
    if (info !== undefined) this.rejected.set(name, { size: info.size, mtimeMs: info.mtimeMs });
    if (incomplete) {
      this.options.logger.info({ file: name }, `${name} is not complete yet: waiting for it to change`);
      return;
    }
    this.options.logger.error({ file: name, code: error.code }, `skipping ${name} until it changes: ${error.message}`);
    this.options.onRejected?.(name, error);
  }
}

function windowOf(entry: LedgerEntry): LookupWindow | undefined {
  return entry.at === undefined ? undefined : { fromMs: entry.at - WINDOW_BEFORE_MS, toMs: entry.at + WINDOW_AFTER_MS };
}
