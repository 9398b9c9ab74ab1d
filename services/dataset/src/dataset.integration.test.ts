/**
 * Snapshots and pulls on the real broker and S3: reviews published on a test topic (valid
 * feedback.v1 records) with their images in a test bucket, frozen into manifests, laid out on disk.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { DatasetManifest, Feedback, LoomwatchError, encodeMessage, type FeedbackLabel } from '@loomwatch/contracts';
import { useTestKafka } from '@loomwatch/kafka/testing';
import { useTestS3 } from '@loomwatch/storage/testing';
import { builtEntry, infraEnv } from '@loomwatch/testkit';
import { pullSnapshot } from './pull.js';
import { manifestRef } from './snapshots.js';
import { takeSnapshot, type SnapshotOptions } from './snapshot.js';

const kafka = useTestKafka();
const s3 = useTestS3();
const folders: string[] = [];
afterAll(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

async function folder(): Promise<string> {
  const path = await mkdtemp(join(tmpdir(), 'dataset-pull-'));
  folders.push(path);
  return path;
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const MODEL = { name: 'patchcore-aitex', version: '1.2.0', sha256: 'b'.repeat(64) };

interface Frame {
  frameId: string;
  cameraId: string;
  fabricCode: string;
  verdict: 'ok' | 'defect';
  image: Buffer;
}

/** Frames whose images are in `bucket`, as the gateway puts them. */
async function putFrames(bucket: string): Promise<Frame[]> {
  const frames: Frame[] = [
    { frameId: 'line-1.cam-1.1', cameraId: 'cam-1', fabricCode: '05', verdict: 'defect', image: randomBytes(3000) },
    { frameId: 'line-1.cam-1.2', cameraId: 'cam-1', fabricCode: '05', verdict: 'ok', image: randomBytes(2000) },
    { frameId: 'line-1.cam-2.1', cameraId: 'cam-2', fabricCode: '00', verdict: 'defect', image: randomBytes(2500) },
    { frameId: 'line-1.cam-2.2', cameraId: 'cam-2', fabricCode: '00', verdict: 'ok', image: randomBytes(1500) },
  ];
  for (const frame of frames) await s3.store.put(frameRef(bucket, frame), frame.image, 'image/png');
  return frames;
}

const frameRef = (bucket: string, frame: Frame) => ({ bucket, key: `frames/line-1/${frame.cameraId}/${frame.frameId}.png` });

/** A review of `frame` as the dashboard publishes it, keyed line:camera. */
function reviewOf(bucket: string, frame: Frame, label: FeedbackLabel, revision: number, reviewer: string, extra: Partial<Feedback> = {}) {
  const feedback: Feedback = {
    feedbackId: `fb-${frame.frameId}-${revision}`,
    frameId: frame.frameId,
    lineId: 'line-1',
    cameraId: frame.cameraId,
    fabricCode: frame.fabricCode,
    image: { ...frameRef(bucket, frame), sha256: sha256(frame.image) },
    verdict: { verdict: frame.verdict, score: frame.verdict === 'defect' ? 0.9 : 0.2, threshold: 0.7, model: MODEL, decidedAt: '2026-12-07T10:00:00Z' },
    label,
    regions: label === 'missed-defect' || label === 'defect-confirmed' ? [{ x: 10, y: 20, width: 30, height: 40 }] : [],
    reviewer: { subject: reviewer, name: reviewer },
    reviewedAt: new Date(Date.UTC(2026, 11, 7, 11, revision)).toISOString(),
    revision,
    queue: frame.verdict === 'defect' ? 'flagged' : 'sample',
    ...extra,
  };
  return { key: `line-1:${frame.cameraId}`, value: encodeMessage(Feedback, feedback) };
}

const collect = () => {
  const lines: string[] = [];
  return { lines, warn: (line: string) => void lines.push(line) };
};

describe('dataset snapshot and pull', () => {
  it('freezes the same feedback into one object with one id, a new review into a new snapshot whose parent is the first, and lays it out with verified images', async () => {
    const topic = await kafka.topic({ partitions: 2, prefix: 'feedback' });
    const frameBucket = await s3.bucket('frames');
    const bucket = await s3.bucket('datasets');
    const frames = await putFrames(frameBucket);
    const [defect, ok, defect2, ok2] = frames as [Frame, Frame, Frame, Frame];
    const firstReview = reviewOf(frameBucket, defect, 'false-alarm', 0, 'otto');
    await kafka.publish(topic, [
      firstReview,
      // A retried publish of the same answer: one review.
      firstReview,
      reviewOf(frameBucket, ok, 'missed-defect', 0, 'otto', { defectCode: '002' }),
      reviewOf(frameBucket, defect2, 'defect-confirmed', 0, 'ada'),
      reviewOf(frameBucket, ok2, 'ok-confirmed', 0, 'ada'),
      { key: 'line-1:cam-2', value: '{"not":"a review"}' },
    ]);
    const options = (warn: (line: string) => void): SnapshotOptions => ({ topic, bucket, parent: { kind: 'latest' }, warn });

    const noted = collect();
    const first = await takeSnapshot(kafka.client, s3.store, options(noted.warn));
    expect(first).toMatchObject({ status: 'created', records: 6, invalid: 1 });
    expect(noted.lines).toEqual([expect.stringMatching(new RegExp(`^${topic} [01]:\\d+ left out: message does not match its schema`))]);
    expect(first.manifest.parent).toBeUndefined();
    expect(first.manifest.entries.map((entry) => [entry.frameId, entry.label, entry.path])).toEqual([
      ['line-1.cam-1.1', 'false-alarm', 'normal/05/line-1.cam-1.1.png'],
      ['line-1.cam-1.2', 'missed-defect', 'defect/05/line-1.cam-1.2.png'],
      ['line-1.cam-2.1', 'defect-confirmed', 'defect/00/line-1.cam-2.1.png'],
      ['line-1.cam-2.2', 'ok-confirmed', 'normal/00/line-1.cam-2.2.png'],
    ]);
    // The offsets read, per partition, add up to every record on the topic.
    expect(Object.keys(first.manifest.source.offsets).sort()).toEqual(['0', '1']);
    expect(Object.values(first.manifest.source.offsets).reduce((a, b) => a + b, 0)).toBe(6);

    // Nothing new: the same id, nothing written again.
    const again = await takeSnapshot(kafka.client, s3.store, options(collect().warn));
    expect(again.status).toBe('exists');
    expect(again.manifest).toEqual(first.manifest);
    expect(await s3.store.list(bucket, 'snapshots/')).toEqual([manifestRef(bucket, first.manifest.id).key]);
    // Without a parent, the same feedback is again one id.
    const orphan = await takeSnapshot(kafka.client, s3.store, { ...options(collect().warn), parent: { kind: 'none' } });
    expect(orphan).toMatchObject({ status: 'exists', manifest: { id: first.manifest.id } });

    // A second reviewer overrules the false alarm: a new revision, a new snapshot extending the first.
    await kafka.publish(topic, [reviewOf(frameBucket, defect, 'defect-confirmed', 1, 'ada', { defectCode: '010' })]);
    const second = await takeSnapshot(kafka.client, s3.store, options(collect().warn));
    expect(second.status).toBe('created');
    expect(second.manifest.id).not.toBe(first.manifest.id);
    expect(second.manifest.parent).toBe(first.manifest.id);
    expect(second.manifest.entries[0]).toMatchObject({ frameId: defect.frameId, label: 'defect-confirmed', defectCode: '010', revision: 1, reviewers: ['otto', 'ada'], path: `defect/05/${defect.frameId}.png` });
    expect((await s3.store.list(bucket, 'snapshots/')).sort()).toEqual([manifestRef(bucket, first.manifest.id).key, manifestRef(bucket, second.manifest.id).key].sort());
    const stored = DatasetManifest.parse(JSON.parse((await s3.store.get(manifestRef(bucket, second.manifest.id))).toString('utf8')));
    expect(stored).toEqual(second.manifest);

    // Pull: every image at its path with its sha256, regions beside the defects, the manifest at the root.
    const out = await folder();
    const progress: string[] = [];
    const pulled = await pullSnapshot(s3.store, { bucket, id: second.manifest.id.slice(0, 10), outDir: out, onProgress: (p) => progress.push(`${p.done}/${p.total}`) });
    expect(pulled).toMatchObject({ fetched: 4, skipped: 0, bytes: 3000 + 2000 + 2500 + 1500 });
    expect(progress.sort()).toEqual(['1/4', '2/4', '3/4', '4/4']);
    const files = (await readdir(out, { recursive: true })).filter((file) => file.endsWith('.png') || file.endsWith('.json')).sort();
    expect(files).toEqual([
      'defect/00/line-1.cam-2.1.png',
      'defect/00/line-1.cam-2.1.regions.json',
      'defect/05/line-1.cam-1.1.png',
      'defect/05/line-1.cam-1.1.regions.json',
      'defect/05/line-1.cam-1.2.png',
      'defect/05/line-1.cam-1.2.regions.json',
      'manifest.json',
      'normal/00/line-1.cam-2.2.png',
    ]);
    for (const entry of second.manifest.entries) expect(sha256(await readFile(join(out, entry.path)))).toBe(entry.image.sha256);
    expect(JSON.parse(await readFile(join(out, 'defect/05/line-1.cam-1.2.regions.json'), 'utf8'))).toEqual({ frameId: ok.frameId, label: 'missed-defect', defectCode: '002', regions: [{ x: 10, y: 20, width: 30, height: 40 }] });
    expect(DatasetManifest.parse(JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')))).toEqual(second.manifest);

    // Pulled again: nothing fetched.
    expect(await pullSnapshot(s3.store, { bucket, id: second.manifest.id, outDir: out })).toMatchObject({ fetched: 0, skipped: 4 });
    // Another snapshot into the same folder would mix two data sets.
    await expect(pullSnapshot(s3.store, { bucket, id: first.manifest.id, outDir: out })).rejects.toThrow(/holds snapshot .*: pull .* into an empty folder/);

    // An image changed after it was reviewed: the pull fails naming the frame, and leaves no manifest.
    await s3.store.put(frameRef(frameBucket, defect2), randomBytes(2500), 'image/png');
    const corrupted = await folder();
    const failure = await pullSnapshot(s3.store, { bucket, id: second.manifest.id, outDir: corrupted }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(LoomwatchError);
    expect(failure).toMatchObject({ code: 'IMAGE_CHECKSUM_MISMATCH' });
    expect((failure as Error).message).toMatch(new RegExp(`^frame ${defect2.frameId.replace(/\./g, '\\.')}: s3://${frameBucket}/\\S+ has sha256 [0-9a-f]{64}, the snapshot says ${sha256(defect2.image)}`));
    expect(await readdir(corrupted)).not.toContain('manifest.json');
  });

  it('runs as loomwatch dataset: snapshot --json, pull with a progress line and its ETA, list', async () => {
    const topic = await kafka.topic({ prefix: 'feedback' });
    const frameBucket = await s3.bucket('frames');
    const bucket = await s3.bucket('datasets');
    const [frame] = (await putFrames(frameBucket)) as [Frame];
    await kafka.publish(topic, [reviewOf(frameBucket, frame, 'false-alarm', 0, 'otto')]);
    const run = promisify(execFile);
    const cli = (args: string[]) => run(process.execPath, [builtEntry('services/dataset/dist/cli.js'), ...args], { env: { ...process.env, ...infraEnv(kafka.infra), LOG_LEVEL: 'silent', LOOMWATCH_COMMAND: 'loomwatch dataset' } });

    const snapshot = await cli(['snapshot', '--topic', topic, '--bucket', bucket, '--json']);
    const printed = JSON.parse(snapshot.stdout) as { id: string; status: string; parent: string | null; counts: { byLabel: Record<string, number>; byFabric: Record<string, number> } };
    expect(printed).toMatchObject({ status: 'created', parent: null, counts: { entries: 1, byLabel: { 'false-alarm': 1 }, byFabric: { '05': 1 } } });
    const text = await cli(['snapshot', '--topic', topic, '--bucket', bucket]);
    expect(text.stdout).toMatch(new RegExp(`^snapshot ${printed.id} exists already .*nothing written\nparent: none\nread: ${topic} up to 0:1: 1 records → 1 frames\nlabels: defect-confirmed 0 · false-alarm 1 · ok-confirmed 0 · missed-defect 0\nfabrics: 05 1\n$`));

    const out = await folder();
    const pull = await cli(['pull', printed.id.slice(0, 8), '--bucket', bucket, '--out', out]);
    expect(pull.stderr).toMatch(new RegExp(`^pull ${printed.id.slice(0, 12)}: 1/1 frames \\(100\\.0 %\\) · 0\\.0 MB · .* · ETA 0s\n$`));
    expect(pull.stdout).toBe(`pulled ${printed.id} into ${out}: 1 frames (1 fetched, 0 already there), 0.0 MB\n`);
    expect(sha256(await readFile(join(out, `normal/05/${frame.frameId}.png`)))).toBe(sha256(frame.image));

    const list = await cli(['list', '--bucket', bucket, '--json']);
    expect(list.stdout.trim().split('\n').map((line) => JSON.parse(line) as unknown)).toEqual([{ id: printed.id, parent: null, createdAt: expect.any(String) as string, topic, frames: 1, latest: true }]);

    const missing = await cli(['pull', 'abcdef', '--bucket', bucket, '--out', out]).catch((err: unknown) => err as { code: number; stderr: string });
    expect(missing).toMatchObject({ code: 1, stderr: `loomwatch dataset pull: OBJECT_NOT_FOUND: no snapshot abcdef… in s3://${bucket}: loomwatch dataset list shows the snapshots there\n` });
  });
});
