import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeadLetter, FrameEvent, Verdict, decodeMessage, encodeMessage } from '@loomwatch/contracts';
import { FramePublisher } from '@loomwatch/camera-gateway';
import { createLogger } from '@loomwatch/observability';
import { REPO_ROOT, aitexFrames, useTestInfra } from '@loomwatch/testkit';
import { WorkerConfig } from './config.js';
import { startWorker } from './worker.js';

const ctx = useTestInfra();
const logger = createLogger({ service: 'test', level: 'silent' });
const MODEL = 'draem-random@0.0.1';

async function readCommitted<T>(topic: string, count: number, parse: (value: Buffer | null) => T): Promise<T[]> {
  return (await ctx.readCommitted(topic, count)).map((m) => parse(m.value));
}

async function topics() {
  return {
    frames: await ctx.topic({ partitions: 2, prefix: 'frames' }),
    verdicts: await ctx.topic({ prefix: 'verdicts' }),
    dlq: await ctx.topic({ prefix: 'dlq' }),
  };
}

function workerConfig(t: Awaited<ReturnType<typeof topics>>, frameBucket: string, outputBucket: string, groupId: string): WorkerConfig {
  return WorkerConfig.parse({
    kafka: { brokers: ctx.infra.kafkaBrokers },
    s3: ctx.infra.s3,
    worker: {
      id: 'test-worker',
      groupId,
      inputTopic: t.frames,
      verdictTopic: t.verdicts,
      deadLetterTopic: t.dlq,
      allowedBuckets: [frameBucket],
      outputBucket,
    },
    model: MODEL,
    inference: { intraOpNumThreads: 1 },
    ops: { port: 0 },
    log: { level: 'silent' },
  });
}

describe('inference worker on the real broker and S3', () => {
  it('decides each AITEX frame exactly once, with the scores the infer command gives, and stores its pictures', async () => {
    const t = await topics();
    const frameBucket = await ctx.bucket('frames');
    const outputBucket = await ctx.bucket('results');
    const files = aitexFrames().filter((_, i) => i % 45 === 0).slice(0, 4);
    const producer = ctx.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const publisher = new FramePublisher({ store: ctx.store, producer, bucket: frameBucket, source: '/test', topic: t.frames });
    const events: FrameEvent[] = [];
    for (const [seq, file] of files.entries()) {
      events.push(
        await publisher.publish({
          lineId: 'line-1',
          cameraId: `cam-${seq % 2}`,
          seq,
          capturedAt: new Date(),
          image: readFileSync(file.path),
          width: 4096,
          height: 256,
          encoding: 'png',
        }),
      );
    }
    await producer.disconnect();

    const worker = await startWorker(workerConfig(t, frameBucket, outputBucket, ctx.group()), logger);
    const verdicts = await readCommitted(t.verdicts, files.length, (value) => decodeMessage(Verdict, value));
    const ops = `http://127.0.0.1:${worker.opsPort}`;
    expect((await fetch(`${ops}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${ops}/metrics`)).text();
    const decided = [...metrics.matchAll(/^loomwatch_frames_decided_total\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    expect(decided).toBe(files.length);
    expect(metrics).toMatch(/loomwatch_model_info\{[^}]*name="draem-random"[^}]*version="0.0.1"/);
    expect(metrics).toMatch(new RegExp(`loomwatch_stage_seconds_count\\{[^}]*stage="infer"[^}]*\\} ${files.length}`));
    await worker.stop();

    expect(verdicts.map((v) => v.frameId).sort()).toEqual(events.map((e) => e.frameId).sort());
    // The `infer` command, run on the same files, is the reference for every score.
    const infer = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(REPO_ROOT, 'packages/inference/src/cli/infer.ts'), '--model', MODEL, '--threads', '1', ...files.map((f) => f.path)],
      { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 },
    );
    expect(infer.status).toBe(0);
    const inferred = infer.stdout.trim().split('\n').map((line) => JSON.parse(line) as { image: string; score: number });
    for (const verdict of verdicts) {
      const file = files[events.findIndex((e) => e.frameId === verdict.frameId)];
      expect(verdict.score).toBe(inferred.find((line) => line.image === file?.path)?.score);
      expect(verdict.model).toMatchObject({ name: 'draem-random', version: '0.0.1' });
      expect((await ctx.store.head(verdict.anomalyMap))?.bytes).toBeGreaterThan(0);
      expect((await ctx.store.head(verdict.overlay))?.bytes).toBeGreaterThan(0);
    }
  });

  it('dead-letters each poison frame with its code and still decides the frames after it', async () => {
    const t = await topics();
    const frameBucket = await ctx.bucket('frames');
    const outputBucket = await ctx.bucket('results');
    const good = readFileSync(aitexFrames()[0]?.path ?? '');
    const producer = ctx.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const publisher = new FramePublisher({ store: ctx.store, producer, bucket: frameBucket, source: '/test', topic: t.frames });
    const valid = await publisher.publish({ lineId: 'l', cameraId: 'c', seq: 1, capturedAt: new Date(), image: good, width: 4096, height: 256, encoding: 'png' });

    const withImage = (overrides: Partial<FrameEvent['image']>, frameId: string): Buffer =>
      encodeMessage(FrameEvent, { ...valid, frameId, image: { ...valid.image, ...overrides } });
    const corrupt = good.subarray(0, 5000);
    await ctx.store.put({ bucket: frameBucket, key: 'corrupt.png' }, corrupt);
    const corruptImage = { key: 'corrupt.png', bytes: corrupt.length, sha256: createHash('sha256').update(corrupt).digest('hex') };
    const poison: [string, Buffer][] = [
      ['MESSAGE_NOT_JSON', Buffer.from('{this is not json')],
      ['MESSAGE_SCHEMA_VIOLATION', Buffer.from(JSON.stringify({ frameId: 'x', image: { key: '../../etc/passwd' } }))],
      ['BUCKET_NOT_ALLOWED', withImage({ bucket: 'not-allowed-bucket' }, 'p-bucket')],
      ['OBJECT_NOT_FOUND', withImage({ key: 'missing.png' }, 'p-missing')],
      ['IMAGE_CHECKSUM_MISMATCH', withImage({ key: 'corrupt.png' }, 'p-checksum')],
      ['IMAGE_CORRUPT', withImage(corruptImage, 'p-corrupt')],
      ['IMAGE_DIMENSIONS_MISMATCH', withImage({ width: 2048 }, 'p-dims')],
    ];
    await producer.send({
      topic: t.frames,
      messages: [
        ...poison.map(([, value]) => ({ key: 'l:c', value })),
        { key: 'l:c', value: encodeMessage(FrameEvent, { ...valid, frameId: 'after-poison' }) },
      ],
    });
    await producer.disconnect();

    const config = workerConfig(t, frameBucket, outputBucket, ctx.group());
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
