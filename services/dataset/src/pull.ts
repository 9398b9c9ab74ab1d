/**
 * `dataset pull`: lays a snapshot out in a folder as the model pipeline reads it — each image at
 * its entry's `path` (verified against its sha256), the marked regions of a defect beside it as
 * `<frameId>.regions.json`, and `manifest.json` at the root, written last (a folder with it is
 * complete). Run again, it fetches only what is missing or differs.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Semaphore } from '@loomwatch/concurrency';
import { LoomwatchError, labelIsDefect, type DatasetEntry, type DatasetManifest } from '@loomwatch/contracts';
import type { BlobStore } from '@loomwatch/storage';
import { parseManifest, readManifest, resolveId } from './snapshots.js';
import type { PullProgress } from './progress.js';

export interface PullOptions {
  bucket: string;
  /** The snapshot's id, or a unique prefix of it. */
  id: string;
  outDir: string;
  /** Images fetched at once. @defaultValue 4 */
  concurrency?: number;
  /** Called after each entry, and once at the end. */
  onProgress?: (progress: PullProgress, id: string) => void;
  now?: () => number;
}

export interface PullResult {
  manifest: DatasetManifest;
  outDir: string;
  /** Images fetched from S3, and those already in the folder with the right sha256. */
  fetched: number;
  skipped: number;
  bytes: number;
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** The sha256 of a file, or undefined when there is none. */
async function fileSha256(path: string): Promise<string | undefined> {
  try {
    return sha256(await readFile(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Writes through a temporary file and a rename, so an interrupted pull leaves no half image behind. */
async function writeAtomically(path: string, body: Buffer | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.partial`;
  await writeFile(temporary, body);
  await rename(temporary, path);
}

/** An entry's file under `outDir`, refused if its path would leave it. */
function targetOf(outDir: string, relativePath: string): string {
  const target = resolve(outDir, relativePath);
  if (!target.startsWith(`${outDir}${sep}`)) {
    throw new LoomwatchError('OBJECT_KEY_INVALID', `the entry path ${relativePath} leaves the data set's folder: the manifest is not one dataset snapshot writes`);
  }
  return target;
}

/** What `<frameId>.regions.json` holds. */
export function regionsFile(entry: DatasetEntry): string {
  return `${JSON.stringify({ frameId: entry.frameId, label: entry.label, ...(entry.defectCode === undefined ? {} : { defectCode: entry.defectCode }), regions: entry.regions }, null, 2)}\n`;
}

/** Refuses a folder that holds another snapshot: two data sets in one folder would mix. */
async function checkFolder(outDir: string, id: string): Promise<void> {
  let existing: Buffer;
  try {
    existing = await readFile(join(outDir, 'manifest.json'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const other = parseManifest(existing, join(outDir, 'manifest.json')).id;
  if (other !== id) throw new LoomwatchError('CONFIG_INVALID', `${outDir} holds snapshot ${other}: pull ${id.slice(0, 12)} into an empty folder (or ${other.slice(0, 12)}'s folder with its own id)`);
}

/** Fetches one entry's image unless the folder holds it already; the bytes fetched, 0 when skipped. */
async function pullEntry(store: BlobStore, outDir: string, entry: DatasetEntry): Promise<number> {
  const target = targetOf(outDir, entry.path);
  if (labelIsDefect(entry.label)) await writeAtomically(targetOf(outDir, entry.path.replace(/\.png$/, '.regions.json')), regionsFile(entry));
  if ((await fileSha256(target)) === entry.image.sha256) return 0;
  const where = `s3://${entry.image.bucket}/${entry.image.key}`;
  let image: Buffer;
  try {
    image = await store.get(entry.image);
  } catch (err) {
    if (err instanceof LoomwatchError && err.code === 'OBJECT_NOT_FOUND') {
      throw new LoomwatchError('IMAGE_NOT_FOUND', `frame ${entry.frameId}: its image ${where} is gone (deleted or expired): the snapshot cannot be pulled whole`, { cause: err });
    }
    throw err;
  }
  const actual = sha256(image);
  if (actual !== entry.image.sha256) {
    throw new LoomwatchError('IMAGE_CHECKSUM_MISMATCH', `frame ${entry.frameId}: ${where} has sha256 ${actual}, the snapshot says ${entry.image.sha256}: the image was changed after it was reviewed`, {
      details: { frameId: entry.frameId, expected: entry.image.sha256, actual },
    });
  }
  await writeAtomically(target, image);
  return image.length;
}

export async function pullSnapshot(store: BlobStore, options: PullOptions): Promise<PullResult> {
  const now = options.now ?? Date.now;
  const outDir = resolve(options.outDir);
  const manifest = await readManifest(store, options.bucket, await resolveId(store, options.bucket, options.id));
  await checkFolder(outDir, manifest.id);
  const started = now();
  const progress: PullProgress = { done: 0, total: manifest.entries.length, fetched: 0, bytes: 0, elapsedMs: 0 };
  const report = (): void => options.onProgress?.({ ...progress, elapsedMs: now() - started }, manifest.id);
  const semaphore = new Semaphore(options.concurrency ?? 4);
  // The first failure stops the rest from starting; the entries already under way finish.
  let failed = false;
  const results = await Promise.allSettled(
    manifest.entries.map((entry) =>
      semaphore.run(async () => {
        if (failed) return;
        try {
          const bytes = await pullEntry(store, outDir, entry);
          progress.done++;
          if (bytes > 0) {
            progress.fetched++;
            progress.bytes += bytes;
          }
          report();
        } catch (err) {
          failed = true;
          throw err;
        }
      }),
    ),
  );
  const failure = results.find((result) => result.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
  await writeAtomically(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  if (manifest.entries.length === 0) report();
  return { manifest, outDir, fetched: progress.fetched, skipped: progress.done - progress.fetched, bytes: progress.bytes };
}
