/**
 * The labelled data set as pure data: reviews (`feedback.v1` records) folded into one entry per
 * frame, the canonical JSON a manifest's id is the sha256 of, and what a manifest holds.
 *
 * Glossary — review: one `Feedback` record · revision: a frame's n-th review (0 first), the highest
 * is its label · entry: one frame of the data set (`DatasetEntry`) · snapshot: a stored manifest,
 * named by its id · source: the offsets of the topic the snapshot read up to (exclusive).
 */
import { createHash } from 'node:crypto';
import { labelIsDefect, type DatasetEntry, type DatasetManifest, type Feedback, type FeedbackLabel } from '@loomwatch/contracts';

/** A review and where it was read: its position orders the reviews and decides which of a repeated id counts. */
export interface ReviewRecord {
  feedback: Feedback;
  partition: number;
  offset: number;
}

/** A manifest before it is named: what its id is computed from (everything but `id` and `createdAt`). */
export type ManifestBody = Omit<DatasetManifest, 'id' | 'createdAt'>;

const byPosition = (a: ReviewRecord, b: ReviewRecord): number => a.partition - b.partition || a.offset - b.offset;

/** Keeps the first record of each feedbackId (a repeat is a retried publish of the same answer), in topic order. */
export function firstOfEachId(records: readonly ReviewRecord[]): ReviewRecord[] {
  const seen = new Set<string>();
  return [...records].sort(byPosition).filter(({ feedback }) => {
    if (seen.has(feedback.feedbackId)) return false;
    seen.add(feedback.feedbackId);
    return true;
  });
}

/**
 * A fabric code as a folder name: the characters an entry's path allows, and never `.` or `..`
 * (a path must stay under the data set's folder). `unknown` when the camera sent none.
 */
export function fabricFolder(fabricCode: string | undefined): string {
  if (fabricCode === undefined) return 'unknown';
  const folder = fabricCode.replace(/[^A-Za-z0-9._-]/g, '_');
  return folder === '.' || folder === '..' ? folder.replace(/\./g, '_') : folder;
}

/** Where `dataset pull` puts a frame's image, relative to the data set's folder. */
export function entryPath(frameId: string, label: FeedbackLabel, fabricCode: string | undefined): string {
  return `${labelIsDefect(label) ? 'defect' : 'normal'}/${fabricFolder(fabricCode)}/${frameId}.png`;
}

/**
 * The review a frame's label comes from: the highest revision; of two with the same (two operators
 * at once), the later `reviewedAt`, then the greater feedbackId — as `@loomwatch/quality` settles
 * it, so the data set and the precision figures agree on every frame's label.
 */
function latest(a: ReviewRecord, b: ReviewRecord): ReviewRecord {
  const fa = a.feedback;
  const fb = b.feedback;
  if (fa.revision !== fb.revision) return fa.revision > fb.revision ? a : b;
  const time = Date.parse(fa.reviewedAt) - Date.parse(fb.reviewedAt);
  if (time !== 0) return time > 0 ? a : b;
  return fa.feedbackId > fb.feedbackId ? a : b;
}

/** Every reviewer of a frame (their subjects), each once, in the order of their first review. */
function reviewersOf(reviews: readonly ReviewRecord[]): string[] {
  const ordered = [...reviews].sort((a, b) => Date.parse(a.feedback.reviewedAt) - Date.parse(b.feedback.reviewedAt) || byPosition(a, b));
  return [...new Set(ordered.map(({ feedback }) => feedback.reviewer.subject))];
}

/**
 * One entry per reviewed frame, sorted by frameId: the label, regions and code of its latest
 * revision, and every reviewer. The result depends only on the set of records and their
 * positions, not on the order they are given in.
 */
export function foldReviews(records: readonly ReviewRecord[]): DatasetEntry[] {
  const byFrame = new Map<string, ReviewRecord[]>();
  for (const record of firstOfEachId(records)) {
    const reviews = byFrame.get(record.feedback.frameId);
    if (reviews === undefined) byFrame.set(record.feedback.frameId, [record]);
    else reviews.push(record);
  }
  const entries = [...byFrame.values()].map((reviews): DatasetEntry => {
    const { feedback } = reviews.reduce(latest);
    const { verdict, score, threshold, model } = feedback.verdict;
    return {
      frameId: feedback.frameId,
      lineId: feedback.lineId,
      cameraId: feedback.cameraId,
      ...(feedback.fabricCode === undefined ? {} : { fabricCode: feedback.fabricCode }),
      image: feedback.image,
      label: feedback.label,
      regions: feedback.regions,
      ...(feedback.defectCode === undefined ? {} : { defectCode: feedback.defectCode }),
      reviewers: reviewersOf(reviews),
      feedbackId: feedback.feedbackId,
      revision: feedback.revision,
      queue: feedback.queue,
      verdict: { verdict, score, threshold, model },
      path: entryPath(feedback.frameId, feedback.label, feedback.fabricCode),
    };
  });
  return entries.sort((a, b) => (a.frameId < b.frameId ? -1 : a.frameId > b.frameId ? 1 : 0));
}

/**
 * JSON with every object's keys sorted (by UTF-16 code unit) and no whitespace; properties whose
 * value is undefined are left out, as JSON.stringify does.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item: unknown) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const fields = Object.keys(value)
      .sort()
      .flatMap((key) => {
        const field = (value as Record<string, unknown>)[key];
        return field === undefined ? [] : [`${JSON.stringify(key)}:${canonicalJson(field)}`];
      });
    return `{${fields.join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A manifest's id: the sha256 of its canonical JSON without `id` and `createdAt`. */
export function manifestId(manifest: ManifestBody | DatasetManifest): string {
  const body: Record<string, unknown> = { ...manifest };
  delete body['id'];
  delete body['createdAt'];
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

/** Names a manifest body: its id, and the time it was made. */
export function nameManifest(body: ManifestBody, createdAt: Date): DatasetManifest {
  return { id: manifestId(body), ...(body.parent === undefined ? {} : { parent: body.parent }), createdAt: createdAt.toISOString(), source: body.source, entries: body.entries };
}

/** Whether two manifests froze the same feedback: the same source offsets and entries, whatever their parents. */
export function sameContent(a: ManifestBody, b: ManifestBody): boolean {
  return canonicalJson({ source: a.source, entries: a.entries }) === canonicalJson({ source: b.source, entries: b.entries });
}

/** The latest of the manifests of `topic` by creation time (then id), or undefined when none is. */
export function latestOf<M extends Pick<DatasetManifest, 'id' | 'createdAt' | 'source'>>(manifests: readonly M[], topic: string): M | undefined {
  return manifests
    .filter((manifest) => manifest.source.topic === topic)
    .reduce<M | undefined>((best, manifest) => {
      if (best === undefined) return manifest;
      const order = Date.parse(manifest.createdAt) - Date.parse(best.createdAt) || (manifest.id > best.id ? 1 : -1);
      return order > 0 ? manifest : best;
    }, undefined);
}

/** What a data set holds, for people: entries per label and per fabric (`unknown` without a code). */
export interface ManifestCounts {
  entries: number;
  byLabel: Record<FeedbackLabel, number>;
  byFabric: Record<string, number>;
}

export function countEntries(entries: readonly DatasetEntry[]): ManifestCounts {
  const byLabel: Record<FeedbackLabel, number> = { 'defect-confirmed': 0, 'false-alarm': 0, 'ok-confirmed': 0, 'missed-defect': 0 };
  const byFabric = new Map<string, number>();
  for (const entry of entries) {
    byLabel[entry.label]++;
    const fabric = entry.fabricCode ?? 'unknown';
    byFabric.set(fabric, (byFabric.get(fabric) ?? 0) + 1);
  }
  return { entries: entries.length, byLabel, byFabric: Object.fromEntries([...byFabric].sort(([a], [b]) => (a < b ? -1 : 1))) };
}
