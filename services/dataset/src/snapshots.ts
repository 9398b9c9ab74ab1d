/**
 * The stored snapshots: `s3://<bucket>/snapshots/<id>/manifest.json`, each written once and never
 * changed. Reading one checks it against the schema and its id against its content.
 */
import { DatasetManifest, LoomwatchError, MISSING_IS_REQUIRED, describeIssues, type ObjectRef } from '@loomwatch/contracts';
import type { BlobStore } from '@loomwatch/storage';
import { manifestId } from './manifest.js';

/** @defaultValue the bucket `dataset snapshot` writes to and `dataset pull` reads from. */
export const DATASET_BUCKET = 'loomwatch-datasets';

const KEY = /^snapshots\/([0-9a-f]{64})\/manifest\.json$/;

export function manifestRef(bucket: string, id: string): ObjectRef {
  return { bucket, key: `snapshots/${id}/manifest.json` };
}

/** The ids of the snapshots in `bucket`; none when the bucket does not exist yet. */
export async function snapshotIds(store: BlobStore, bucket: string): Promise<string[]> {
  let keys: string[];
  try {
    keys = await store.list(bucket, 'snapshots/');
  } catch (err) {
    if (err instanceof LoomwatchError && err.code === 'OBJECT_NOT_FOUND') return [];
    throw err;
  }
  return keys.flatMap((key) => KEY.exec(key)?.[1] ?? []).sort();
}

/** A manifest's bytes, checked against the schema (not `decodeMessage`: a manifest is no Kafka message, and may pass its 1 MB). */
export function parseManifest(body: Buffer, where: string): DatasetManifest {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new LoomwatchError('MESSAGE_NOT_JSON', `${where} is not JSON: take a new snapshot`, { cause: err });
  }
  const parsed = DatasetManifest.safeParse(json, MISSING_IS_REQUIRED);
  if (!parsed.success) throw new LoomwatchError('MESSAGE_SCHEMA_VIOLATION', `${where} is not a data set manifest: ${describeIssues(parsed.error.issues)}`, { cause: parsed.error });
  return parsed.data;
}

/** A stored manifest, refused when it is not one or its content no longer hashes to its id. */
export async function readManifest(store: BlobStore, bucket: string, id: string): Promise<DatasetManifest> {
  const ref = manifestRef(bucket, id);
  let body: Buffer;
  try {
    body = await store.get(ref);
  } catch (err) {
    if (err instanceof LoomwatchError && err.code === 'OBJECT_NOT_FOUND') {
      throw new LoomwatchError('OBJECT_NOT_FOUND', `no snapshot ${id} in s3://${bucket}: loomwatch dataset list shows the snapshots there`, { cause: err });
    }
    throw err;
  }
  const manifest = parseManifest(body, `s3://${ref.bucket}/${ref.key}`);
  const actual = manifestId(manifest);
  if (manifest.id !== id || actual !== id) {
    throw new LoomwatchError('MESSAGE_SCHEMA_VIOLATION', `s3://${ref.bucket}/${ref.key} was changed after it was stored (its content hashes to ${actual}): take a new snapshot`);
  }
  return manifest;
}

/** Every snapshot in the bucket, read whole (to find a topic's latest, or to list them). */
export async function readManifests(store: BlobStore, bucket: string): Promise<DatasetManifest[]> {
  const manifests: DatasetManifest[] = [];
  for (const id of await snapshotIds(store, bucket)) manifests.push(await readManifest(store, bucket, id));
  return manifests;
}

/** The full id of a snapshot named by its id or a unique prefix of it (at least 6 hex digits). */
export async function resolveId(store: BlobStore, bucket: string, idOrPrefix: string): Promise<string> {
  if (!/^[0-9a-f]{6,64}$/.test(idOrPrefix)) {
    throw new LoomwatchError('CONFIG_INVALID', `${idOrPrefix} is not a snapshot id: give its 64 hex digits, or the first 6 or more of them`);
  }
  if (idOrPrefix.length === 64) return idOrPrefix;
  const matches = (await snapshotIds(store, bucket)).filter((id) => id.startsWith(idOrPrefix));
  if (matches.length === 1 && matches[0] !== undefined) return matches[0];
  if (matches.length === 0) throw new LoomwatchError('OBJECT_NOT_FOUND', `no snapshot ${idOrPrefix}… in s3://${bucket}: loomwatch dataset list shows the snapshots there`);
  throw new LoomwatchError('CONFIG_INVALID', `${idOrPrefix} names ${matches.length} snapshots in s3://${bucket}: give more of the id`);
}
