import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DeadLetter, FrameEvent, Verdict, decodeMessage, encodeMessage } from '@loomwatch/contracts';
import { publishTestFrames } from '@loomwatch/frame-pipeline/testing';
import { OverlayRenderer } from '@loomwatch/overlay';
import { useTestKafka } from '@loomwatch/kafka/testing';
import { createLogger } from '@loomwatch/observability';
import { useTestS3 } from '@loomwatch/storage/testing';
import { REPO_ROOT, aitexFrames, builtEntry } from '@loomwatch/testkit';
import { WorkerConfig } from './config.js';
import { startWorker } from './worker.js';

const execFileAsync = promisify(execFile);
const kafka = useTestKafka();
const s3 = useTestS3();
const logger = createLogger({ service: 'test', level: 'silent' });
const MODEL = 'draem-random@0.0.1';

async function readCommitted<T>(topic: string, count: number, parse: (value: Buffer | null) => T): Promise<T[]> {
  return (await kafka.readCommitted(topic, count)).map((m) => parse(m.value));
}

async function topics() {
  return {
    frames: await kafka.topic({ partitions: 2, prefix: 'frames' }),
    verdicts: await kafka.topic({ prefix: 'verdicts' }),
    dlq: await kafka.topic({ prefix: 'dlq' }),
  };
}

function workerConfig(t: Awaited<ReturnType<typeof topics>>, frameBucket: string, outputBucket: string, groupId: string, overlays: 'on-request' | 'per-frame' = 'on-request'): WorkerConfig {
  return WorkerConfig.parse({
    kafka: { brokers: kafka.infra.kafkaBrokers },
    s3: s3.infra.s3,
    worker: {
      id: 'test-worker',
      groupId,
      inputTopic: t.frames,
      verdictTopic: t.verdicts,
      deadLetterTopic: t.dlq,
      allowedBuckets: [frameBucket],
      outputBucket,
      overlays,
    },
    model: MODEL,
    inference: { intraOpNumThreads: 1 },
    ops: { port: 0 },
    log: { level: 'silent' },
  });
}

describe('inference worker on the real broker and S3', () => {
  /** The first test's frames and per-frame verdicts, for the on-request test to decide again. */
  let perFrameRun: { files: ReturnType<typeof aitexFrames>; frameBucket: string; verdicts: Verdict[] } | undefined;

  it('decides each AITEX frame exactly once, with the scores the infer command gives, and stores its pictures (overlays per frame)', async () => {
    const t = await topics();
    const frameBucket = await s3.bucket('frames');
    const outputBucket = await s3.bucket('results');
    const files = aitexFrames().filter((_, i) => i % 45 === 0).slice(0, 4);
    const events = await publishTestFrames(
      { client: kafka.client, store: s3.store, bucket: frameBucket, topic: t.frames },
      files.map((file, seq) => ({ lineId: 'line-1', cameraId: `cam-${seq % 2}`, seq, image: readFileSync(file.path) })),
    );

    const worker = await startWorker(workerConfig(t, frameBucket, outputBucket, kafka.group(), 'per-frame'), logger);
    const verdicts = await readCommitted(t.verdicts, files.length, (value) => decodeMessage(Verdict, value));
    perFrameRun = { files, frameBucket, verdicts };
    const ops = `http://127.0.0.1:${worker.opsPort}`;
    expect((await fetch(`${ops}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${ops}/metrics`)).text();
    const decided = [...metrics.matchAll(/^loomwatch_frames_decided_total\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    expect(decided).toBe(files.length);
    expect(metrics).toMatch(/loomwatch_model_info\{[^}]*name="draem-random"[^}]*version="0.0.1"/);
    expect(metrics).toMatch(new RegExp(`loomwatch_stage_seconds_count\\{[^}]*stage="infer"[^}]*\\} ${files.length}`));
    await worker.stop();

    expect(verdicts.map((v) => v.frameId).sort()).toEqual(events.map((e) => e.frameId).sort());
    for (const verdict of verdicts) {
      expect((await s3.store.head(verdict.anomalyMap))?.bytes).toBeGreaterThan(0);
      expect((await s3.store.head(verdict.overlay))?.bytes).toBeGreaterThan(0);
      expect(verdict.timings['renderMs']).toBeGreaterThan(0);
    }
    // The `infer` command, run on the same files, is the reference for every score.
    // Run without blocking the event loop: the S3 client's idle connections are closed by the server meanwhile, and must be seen closing.
    const infer = await execFileAsync(
      process.execPath,
      [builtEntry('packages/inference/dist/cli/infer.js'), '--model', MODEL, '--threads', '1', ...files.map((f) => f.path)],
      { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 },
    );
    const inferred = infer.stdout.trim().split('\n').map((line) => JSON.parse(line) as { image: string; score: number });
    for (const verdict of verdicts) {
      const file = files[events.findIndex((e) => e.frameId === verdict.frameId)];
      expect(verdict.score).toBe(inferred.find((line) => line.image === file?.path)?.score);
      expect(verdict.model).toMatchObject({ name: 'draem-random', version: '0.0.1' });
    }
  });

  it('stores no overlay with on-request overlays, and one rendered from the stored map is the per-frame overlay', async () => {
    if (perFrameRun === undefined) throw new Error('the per-frame test did not run');
    const { files, frameBucket } = perFrameRun;
    const t = await topics();
    const outputBucket = await s3.bucket('results');
    const events = await publishTestFrames(
      { client: kafka.client, store: s3.store, bucket: frameBucket, topic: t.frames },
      files.map((file, seq) => ({ lineId: 'line-1', cameraId: `cam-${seq % 2}`, seq, image: readFileSync(file.path) })),
    );
    const worker = await startWorker(workerConfig(t, frameBucket, outputBucket, kafka.group()), logger);
    const verdicts = await readCommitted(t.verdicts, files.length, (value) => decodeMessage(Verdict, value));
    await worker.stop();
    expect(verdicts.map((v) => v.frameId).sort()).toEqual(events.map((e) => e.frameId).sort());

    const renderer = new OverlayRenderer(s3.store);
    for (const verdict of verdicts) {
      expect(verdict.timings).not.toHaveProperty('renderMs');
      expect(verdict.timings['mapMs']).toBeGreaterThan(0);
      expect(await s3.store.head(verdict.anomalyMap)).toBeDefined();
      expect(await s3.store.head(verdict.overlay)).toBeUndefined();
      const rendered = await renderer.render(verdict.overlay);
      expect((await s3.store.get(verdict.overlay)).equals(rendered.body)).toBe(true);
      // The per-frame run decided the same image (same file → same seq and camera) with the same model.
      const file = files[events.findIndex((e) => e.frameId === verdict.frameId)];
      const twin = perFrameRun.verdicts.find((v) => v.seq === verdict.seq && v.cameraId === verdict.cameraId);
      expect(file).toBeDefined();
      expect(twin?.score).toBe(verdict.score);
      const perFrame = await s3.store.get(twin?.overlay ?? verdict.overlay);
      // The same JPEG bytes, so the same pixels.
      expect(rendered.body.equals(perFrame)).toBe(true);
    }
  });

  it('dead-letters each poison frame with its code and still decides the frames after it', async () => {
    const t = await topics();
    const frameBucket = await s3.bucket('frames');
    const outputBucket = await s3.bucket('results');
    const good = readFileSync(aitexFrames()[0]?.path ?? '');
    const [valid] = await publishTestFrames({ client: kafka.client, store: s3.store, bucket: frameBucket, topic: t.frames }, [
      { lineId: 'l', cameraId: 'c', seq: 1, image: good },
    ]);
    if (valid === undefined) throw new Error('no frame published');
    const withImage = (overrides: Partial<FrameEvent['image']>, frameId: string): Buffer =>
      encodeMessage(FrameEvent, { ...valid, frameId, image: { ...valid.image, ...overrides } });
    const corrupt = good.subarray(0, 5000);
    await s3.store.put({ bucket: frameBucket, key: 'corrupt.png' }, corrupt);
    const corruptImage = { key: 'corrupt.png', bytes: corrupt.length, sha256: createHash('sha256').update(corrupt).digest('hex') };
    await s3.store.put({ bucket: frameBucket, key: 'empty.png' }, Buffer.alloc(0));
    // Past the contracts' 1,000,000-byte limit, within the broker's 1 MiB: only the worker can refuse it.
    const oversized = Buffer.from(JSON.stringify({ ...valid, frameId: 'p-large', attributes: { padding: 'x'.repeat(1_010_000) } }));
    const poison: [string, Buffer][] = [
      ['MESSAGE_NOT_JSON', Buffer.from('{this is not json')],
      ['MESSAGE_SCHEMA_VIOLATION', Buffer.from(JSON.stringify({ frameId: 'x', image: { key: '../../etc/passwd' } }))],
      ['BUCKET_NOT_ALLOWED', withImage({ bucket: 'not-allowed-bucket' }, 'p-bucket')],
      ['OBJECT_NOT_FOUND', withImage({ key: 'missing.png' }, 'p-missing')],
      ['IMAGE_CHECKSUM_MISMATCH', withImage({ key: 'corrupt.png' }, 'p-checksum')],
      ['IMAGE_CORRUPT', withImage(corruptImage, 'p-corrupt')],
      ['IMAGE_DIMENSIONS_MISMATCH', withImage({ width: 2048 }, 'p-dims')],
      ['IMAGE_EMPTY', withImage({ key: 'empty.png' }, 'p-empty')],
      ['MESSAGE_TOO_LARGE', oversized],
    ];
    await kafka.publish(t.frames, [...poison.map(([, value]) => ({ key: 'l:c', value })), { key: 'l:c', value: encodeMessage(FrameEvent, { ...valid, frameId: 'after-poison' }) }]);

    const config = workerConfig(t, frameBucket, outputBucket, kafka.group());
    config.worker.missingObjectAttempts = 2;
    const worker = await startWorker(config, logger);
    const [letters, verdicts] = await Promise.all([
      readCommitted(t.dlq, poison.length, (value) => decodeMessage(DeadLetter, value)),
      readCommitted(t.verdicts, 2, (value) => decodeMessage(Verdict, value)),
    ]);
    await worker.stop();

    expect(letters.map((letter) => letter.reason.code).sort()).toEqual(poison.map(([code]) => code).sort());
    expect(verdicts.map((v) => v.frameId).sort()).toEqual(['after-poison', valid.frameId].sort());
  });
});
