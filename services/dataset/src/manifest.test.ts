import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DatasetEntry, DatasetManifest, Feedback } from '@loomwatch/contracts';
import { canonicalJson, countEntries, entryPath, fabricFolder, foldReviews, latestOf, manifestId, nameManifest, sameContent, type ReviewRecord } from './manifest.js';

const MODEL = { name: 'patchcore-aitex', version: '1.2.0', sha256: 'b'.repeat(64) };

/** A valid review of `frameId`; `offset` places it on partition 0 unless `partition` says otherwise. */
function review(frameId: string, offset: number, patch: Partial<Feedback> & { partition?: number } = {}): ReviewRecord {
  const { partition = 0, ...fields } = patch;
  const feedback = Feedback.parse({
    feedbackId: `fb-${frameId}-${offset}`,
    frameId,
    lineId: 'line-1',
    cameraId: 'cam-1',
    fabricCode: '05',
    image: { bucket: 'loomwatch-frames', key: `frames/line-1/cam-1/${frameId}.png`, sha256: 'a'.repeat(64) },
    verdict: { verdict: 'defect', score: 0.8, threshold: 0.7, model: MODEL, decidedAt: '2026-12-07T10:00:00Z' },
    label: 'false-alarm',
    reviewer: { subject: 'otto', name: 'Otto Operator' },
    reviewedAt: `2026-12-07T10:${String(offset).padStart(2, '0')}:00Z`,
    revision: 0,
    queue: 'flagged',
    ...fields,
  });
  return { feedback, partition, offset };
}

const body = (records: ReviewRecord[], parent?: string) => ({
  ...(parent === undefined ? {} : { parent }),
  source: { topic: 'feedback.v1', offsets: { '0': 10, '1': 0 } },
  entries: foldReviews(records),
});

describe('folding reviews into entries', () => {
  it('keeps one entry per frame, sorted by frameId, labelled by its highest revision, with every reviewer oldest first', () => {
    const entries = foldReviews([
      review('f-2', 1),
      review('f-1', 2, { label: 'false-alarm', reviewer: { subject: 'otto', name: 'Otto' } }),
      review('f-1', 3, { revision: 1, label: 'defect-confirmed', defectCode: '002', regions: [{ x: 1, y: 2, width: 3, height: 4 }], reviewer: { subject: 'ada', name: 'Ada' } }),
      review('f-1', 4, { revision: 2, label: 'defect-confirmed', defectCode: '010', reviewer: { subject: 'otto', name: 'Otto' } }),
    ]);
    expect(entries.map((entry) => entry.frameId)).toEqual(['f-1', 'f-2']);
    const [first] = entries;
    expect(first).toMatchObject({ label: 'defect-confirmed', defectCode: '010', revision: 2, feedbackId: 'fb-f-1-4', reviewers: ['otto', 'ada'], path: 'defect/05/f-1.png' });
    expect(first?.verdict).toEqual({ verdict: 'defect', score: 0.8, threshold: 0.7, model: MODEL });
    for (const entry of entries) expect(DatasetEntry.safeParse(entry).success).toBe(true);
  });

  it('keeps the first record of a feedbackId: a repeat, even a different one later on the topic, changes nothing', () => {
    const original = review('f-1', 1, { feedbackId: 'same', label: 'false-alarm' });
    const repeat = review('f-1', 5, { feedbackId: 'same', label: 'missed-defect', revision: 1 });
    expect(foldReviews([repeat, original])).toEqual(foldReviews([original]));
    expect(foldReviews([repeat, original])[0]?.label).toBe('false-alarm');
  });

  it('breaks a tie of revisions by the later review, then the greater feedbackId (two reviewers answering at once)', () => {
    const entries = foldReviews([
      review('f-1', 1, { revision: 1, label: 'false-alarm', reviewedAt: '2026-12-07T11:00:00Z' }),
      review('f-1', 2, { revision: 1, label: 'defect-confirmed', reviewedAt: '2026-12-07T10:59:00Z' }),
    ]);
    expect(entries[0]?.label).toBe('false-alarm');
    const atOnce = { revision: 1, reviewedAt: '2026-12-07T11:00:00Z' };
    const tie = [review('f-1', 1, { ...atOnce, feedbackId: 'b', label: 'false-alarm' }), review('f-1', 2, { ...atOnce, feedbackId: 'a', label: 'defect-confirmed' })];
    expect(foldReviews(tie)[0]?.label).toBe('false-alarm');
    expect(foldReviews(tie.reverse())[0]?.label).toBe('false-alarm');
  });

  it('lays frames out under normal/ or defect/ and a fabric folder that cannot leave the data set', () => {
    expect(entryPath('f', 'ok-confirmed', undefined)).toBe('normal/unknown/f.png');
    expect(entryPath('f', 'missed-defect', '00')).toBe('defect/00/f.png');
    expect(fabricFolder('a/b c')).toBe('a_b_c');
    expect(fabricFolder('..')).toBe('__');
    expect(fabricFolder('.')).toBe('_');
    const entries = foldReviews([review('f-1', 1, { fabricCode: '../x' }), review('f-2', 2, { fabricCode: '..' })]);
    for (const entry of entries) expect(DatasetEntry.safeParse(entry).success, entry.path).toBe(true);
  });

  it('counts entries per label and per fabric', () => {
    const counts = countEntries(foldReviews([review('f-1', 1), review('f-2', 2, { fabricCode: '00', label: 'ok-confirmed', verdict: { verdict: 'ok', score: 0.1, threshold: 0.7, model: MODEL, decidedAt: '2026-12-07T10:00:00Z' } }), review('f-3', 3, { fabricCode: '__proto__' })]));
    expect(counts).toEqual({ entries: 3, byLabel: { 'defect-confirmed': 0, 'false-alarm': 2, 'ok-confirmed': 1, 'missed-defect': 0 }, byFabric: Object.fromEntries([['00', 1], ['05', 1], ['__proto__', 1]]) });
  });
});

describe('canonical JSON and the id', () => {
  it('sorts keys at every depth, keeps array order, drops undefined properties and has no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { y: 'x', x: null }], c: undefined }, 'é': true })).toBe('{"a":{"d":[3,{"x":null,"y":"x"}]},"b":1,"é":true}');
    expect(canonicalJson({ a: 'line\n"quoted"' })).toBe('{"a":"line\\n\\"quoted\\""}');
  });

  it('is the sha256 of the canonical JSON without id and createdAt', () => {
    const content = body([review('f-1', 1)]);
    const manifest = nameManifest(content, new Date('2026-12-08T00:00:00Z'));
    expect(manifest.id).toBe(createHash('sha256').update(canonicalJson(content)).digest('hex'));
    expect(manifestId(manifest)).toBe(manifest.id);
    expect(manifestId({ ...manifest, createdAt: '2027-01-01T00:00:00Z', id: 'c'.repeat(64) })).toBe(manifest.id);
    expect(DatasetManifest.safeParse(manifest).success).toBe(true);
  });

  it('is the same whatever order the records come in and however often a record repeats', () => {
    const records = [review('f-3', 1, { partition: 1 }), review('f-1', 2), review('f-1', 3, { revision: 1, label: 'defect-confirmed', reviewer: { subject: 'ada', name: 'Ada' } }), review('f-2', 4)];
    const id = manifestId(body(records));
    expect(manifestId(body([...records].reverse()))).toBe(id);
    expect(manifestId(body([records[2]!, records[0]!, records[3]!, records[1]!, records[2]!, records[0]!]))).toBe(id);
    // A new review is a new data set.
    expect(manifestId(body([...records, review('f-2', 5, { revision: 1, label: 'defect-confirmed' })]))).not.toBe(id);
  });

  it('changes with the parent and with the source offsets, not with the time it was made', () => {
    const records = [review('f-1', 1)];
    const first = nameManifest(body(records), new Date('2026-12-08T00:00:00Z'));
    const later = nameManifest(body(records), new Date('2026-12-09T00:00:00Z'));
    expect(later.id).toBe(first.id);
    expect(nameManifest(body(records, first.id), new Date()).id).not.toBe(first.id);
    expect(manifestId({ ...body(records), source: { topic: 'feedback.v1', offsets: { '0': 11, '1': 0 } } })).not.toBe(first.id);
  });
});

describe('the previous snapshot', () => {
  const at = (id: string, createdAt: string, topic = 'feedback.v1') => ({ id: id.repeat(64), createdAt, source: { topic, offsets: {} } });

  it('is the latest manifest of the same topic by creation time', () => {
    const manifests = [at('1', '2026-12-08T00:00:00Z'), at('2', '2026-12-09T00:00:00Z'), at('3', '2026-12-10T00:00:00Z', 'feedback.test'), at('4', '2026-12-07T00:00:00Z')];
    expect(latestOf(manifests, 'feedback.v1')?.id).toBe('2'.repeat(64));
    expect(latestOf(manifests, 'feedback.test')?.id).toBe('3'.repeat(64));
    expect(latestOf(manifests, 'other')).toBeUndefined();
  });

  it('holds the same content as a new snapshot of the same feedback, whatever its parent', () => {
    const records = [review('f-1', 1)];
    expect(sameContent(body(records, 'd'.repeat(64)), body(records))).toBe(true);
    expect(sameContent(body(records), body([...records, review('f-2', 2)]))).toBe(false);
  });
});
