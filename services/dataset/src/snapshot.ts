/**
 * `dataset snapshot`: freezes the reviews of a feedback topic, up to where each partition ends now,
 * into an immutable manifest in S3 named by its content. The same feedback gives the same id, and
 * a snapshot whose id is stored already is not written again.
 */
import { Feedback, LoomwatchError, decodeMessage, type DatasetManifest } from '@loomwatch/contracts';
import type { KafkaClient, PartitionRange } from '@loomwatch/kafka';
import type { BlobStore } from '@loomwatch/storage';
import { foldReviews, latestOf, nameManifest, sameContent, type ManifestBody, type ReviewRecord } from './manifest.js';
import { manifestRef, readManifest, readManifests, resolveId } from './snapshots.js';

/** Which snapshot the new one extends: the topic's latest in the bucket, none, or one named. */
export type ParentChoice = { kind: 'latest' } | { kind: 'none' } | { kind: 'id'; id: string };

export interface SnapshotOptions {
  topic: string;
  bucket: string;
  parent: ParentChoice;
  /** Told about each record that is not a valid review (it is left out of the data set). */
  warn: (line: string) => void;
  now?: () => Date;
}

export interface SnapshotResult {
  manifest: DatasetManifest;
  /** `exists`: a snapshot with this id was stored already (its manifest is the one returned). */
  status: 'created' | 'exists';
  /** Records read, and those of them that were not valid reviews. */
  records: number;
  invalid: number;
}

/** Every record of `topic` up to where each partition ends now (read_committed), and those ends. */
async function readReviews(kafka: Pick<KafkaClient, 'reader' | 'offsets'>, topic: string, warn: (line: string) => void) {
  const admin = kafka.offsets();
  let ranges: PartitionRange[];
  try {
    ranges = (await admin.watermarks(topic)).map(({ partition, low, high }) => ({ topic, partition, from: low, to: high }));
  } finally {
    await admin.close();
  }
  const reviews: ReviewRecord[] = [];
  let records = 0;
  let invalid = 0;
  await kafka.reader.readRanges(
    ranges.filter((range) => range.to > range.from),
    (record) => {
      records++;
      try {
        reviews.push({ feedback: decodeMessage(Feedback, record.value), partition: record.partition, offset: Number(record.offset) });
      } catch (err) {
        invalid++;
        warn(`${topic} ${record.partition}:${record.offset} left out: ${(err as Error).message}`);
      }
    },
  );
  const offsets = Object.fromEntries(ranges.map((range) => [String(range.partition), range.to]));
  return { reviews, source: { topic, offsets }, records, invalid };
}

export async function takeSnapshot(kafka: Pick<KafkaClient, 'reader' | 'offsets'>, store: BlobStore, options: SnapshotOptions): Promise<SnapshotResult> {
  const { topic, bucket, parent } = options;
  const read = await readReviews(kafka, topic, options.warn);
  const counts = { records: read.records, invalid: read.invalid };
  const content: ManifestBody = { source: read.source, entries: foldReviews(read.reviews) };

  let parentId: string | undefined;
  if (parent.kind === 'latest') {
    const previous = latestOf(await readManifests(store, bucket), topic);
    // Nothing new since the latest snapshot: it is this one (a parent would only change its id).
    if (previous !== undefined && sameContent(previous, content)) return { manifest: previous, status: 'exists', ...counts };
    parentId = previous?.id;
  } else if (parent.kind === 'id') {
    parentId = (await readManifest(store, bucket, await resolveId(store, bucket, parent.id))).id;
  }

  const manifest = nameManifest({ ...(parentId === undefined ? {} : { parent: parentId }), ...content }, (options.now ?? (() => new Date()))());
  const ref = manifestRef(bucket, manifest.id);
  if ((await store.head(ref)) !== undefined) return { manifest: await readManifest(store, bucket, manifest.id), status: 'exists', ...counts };
  await store.ensureBucket(bucket);
  await store.put(ref, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), 'application/json');
  return { manifest, status: 'created', ...counts };
}

/** Refuses a parent option that cannot name a snapshot before anything is read. */
export function parentChoice(options: { parent?: string | boolean }): ParentChoice {
  if (options.parent === false) return { kind: 'none' };
  if (options.parent === undefined || options.parent === true) return { kind: 'latest' };
  if (!/^[0-9a-f]{6,64}$/.test(options.parent)) throw new LoomwatchError('CONFIG_INVALID', `--parent ${options.parent} is not a snapshot id: give its hex digits (6 or more), or --no-parent`);
  return { kind: 'id', id: options.parent };
}
