import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cameraFrames, publishTestFrames } from '@loomwatch/frame-pipeline/testing';
import { useTestKafka } from '@loomwatch/kafka/testing';
import { useTestS3 } from '@loomwatch/storage/testing';
import { REPO_ROOT, aitexFrames, processExited, readCommittedWithKcat, stopProcess } from '@loomwatch/testkit';
import { spawnWorkerProcess } from './testing/worker-process.js';

const kafka = useTestKafka();
const s3 = useTestS3();
const MODEL = 'draem-random@0.0.1';
const INFRA = join(REPO_ROOT, 'deploy/local/infra.sh');

interface Topics {
  frames: string;
  verdicts: string;
  dlq: string;
  frameBucket: string;
  outputBucket: string;
  groupId: string;
}

async function setUp(): Promise<Topics> {
  return {
    frames: await kafka.topic({ partitions: 4, prefix: 'frames' }),
    verdicts: await kafka.topic({ partitions: 2, prefix: 'verdicts' }),
    dlq: await kafka.topic({ prefix: 'dlq' }),
    frameBucket: await s3.bucket('frames'),
    outputBucket: await s3.bucket('results'),
    groupId: kafka.group('workers'),
  };
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function spawnWorker(t: Topics, id: string): ChildProcess {
  const child = spawnWorkerProcess({
    infra: kafka.infra,
    id,
    model: MODEL,
    groupId: t.groupId,
    inputTopic: t.frames,
    verdictTopic: t.verdicts,
    deadLetterTopic: t.dlq,
    frameBucket: t.frameBucket,
    outputBucket: t.outputBucket,
  });
  children.push(child);
  return child;
}

/** Follows committed verdicts as they arrive and resolves when the count of distinct frames reaches `n`. */
async function watchVerdicts(topic: string): Promise<{ until(n: number): Promise<void>; distinct(): number; close(): Promise<void> }> {
  const frameIds = new Set<string>();
  const waiters: { n: number; resolve: () => void }[] = [];
  const subscription = await kafka.client.reader.follow(topic, (record) => {
    const { frameId } = JSON.parse(record.value?.toString() ?? '{}') as { frameId: string };
    frameIds.add(frameId);
    for (const waiter of waiters.filter((w) => frameIds.size >= w.n)) waiter.resolve();
  });
  return {
    until: (n) =>
      frameIds.size >= n
        ? Promise.resolve()
        : new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`only ${frameIds.size} of ${n} frames decided in time`)), 400_000);
            waiters.push({
              n,
              resolve: () => {
                clearTimeout(timer);
                resolve();
              },
            });
          }),
    distinct: () => frameIds.size,
    close: () => subscription.stop(),
  };
}

/** `framesPerCamera` AITEX frames from each of 2 lines × 2 cameras. */
async function publishFrames(t: Topics, framesPerCamera: number): Promise<string[]> {
  const frames = await cameraFrames({ files: aitexFrames().map((f) => f.path), lines: 2, camerasPerLine: 2, framesPerCamera, firstSeq: 1 });
  const events = await publishTestFrames({ client: kafka.client, store: s3.store, bucket: t.frameBucket, topic: t.frames }, frames);
  return events.map((event) => event.frameId);
}

function expectExactlyOnce(t: Topics, frameIds: readonly string[]): void {
  const verdicts = readCommittedWithKcat(kafka.infra, t.verdicts).map((record) => (JSON.parse(record.payload) as { frameId: string }).frameId);
  expect(verdicts.length).toBe(frameIds.length);
  expect(new Set(verdicts)).toEqual(new Set(frameIds));
  expect(readCommittedWithKcat(kafka.infra, t.dlq)).toEqual([]);
}

describe('inference workers as processes, on the real broker and S3', () => {
  it('refuses to start when a topic it needs does not exist: one fatal line naming loomwatch topics apply, exit 1, and the topic is not created', async () => {
    const t = await setUp();
    const missing = `${t.frames}-missing`;
    const logFile = join(mkdtempSync(join(tmpdir(), 'worker-topics-')), 'worker.log');
    const child = spawnWorkerProcess({ infra: kafka.infra, id: 'no-topics', model: MODEL, groupId: t.groupId, inputTopic: missing, verdictTopic: t.verdicts, deadLetterTopic: t.dlq, logFile });
    children.push(child);
    await processExited(child);
    expect(child.exitCode).toBe(1);
    const fatal = readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((line) => line.includes('"level":60'))
      .map((line) => JSON.parse(line) as { code: string; msg: string });
    expect(fatal).toEqual([{ ...fatal[0], code: 'CONFIG_INVALID', msg: expect.stringMatching(new RegExp(`^worker failed to start: topic ${missing} does not exist .*loomwatch topics apply`)) as unknown }]);
    expect(await kafka.client.topics.list()).not.toContain(missing);
  }, 120_000);

  it('decides 200 frames exactly once while a worker joins, another is SIGKILLed and restarted, and one is frozen past its session (a zombie) and thawed', async () => {
    const t = await setUp();
    const frameIds = await publishFrames(t, 50);
    expect(new Set(frameIds).size).toBe(200);
    const watch = await watchVerdicts(t.verdicts);

    const first = spawnWorker(t, 'worker-a');
    await watch.until(10);
    const second = spawnWorker(t, 'worker-b'); // joins mid-stream: the group rebalances
    await watch.until(60);
    first.kill('SIGKILL'); // leaves without a word: its partitions wait for its restart or its session timeout
    await processExited(first);
    await watch.until(100);
    // Comes back under its id (WORKER_ID, a static member): within the session timeout it is handed its
    // partitions back with no rebalance; after it, it joins anew and the group rebalances.
    const restarted = spawnWorker(t, 'worker-a');
    await watch.until(120);
    // Frozen mid-frame (a long GC pause, a stalled VM): after its session times out the group
    // moves its partitions on; thawed, it finishes the frames it held and tries to commit them.
    // The group generation it commits under is stale, so the coordinator refuses (KIP-447).
    second.kill('SIGSTOP');
    await watch.until(150);
    second.kill('SIGCONT');
    await watch.until(200);
    await Promise.all([stopProcess(second), stopProcess(restarted)]);
    await watch.close();

    expectExactlyOnce(t, frameIds);
  }, 600_000);

  it.skipIf(kafka.infra.source !== 'local')(
    'loses and dead-letters nothing while S3 is down for 15 seconds',
    async () => {
      const t = await setUp();
      const frameIds = await publishFrames(t, 6);
      const watch = await watchVerdicts(t.verdicts);
      const worker = spawnWorker(t, 'worker-s3');
      await watch.until(3);
      expect(spawnSync('bash', [INFRA, 'stop-s3'], { encoding: 'utf8' }).status).toBe(0);
      const down = watch.distinct();
      // The outage itself: 15 s with S3 gone, as the issue asks; nothing is awaited but the clock.
      await new Promise((resolve) => setTimeout(resolve, 15_000));
      expect(spawnSync('bash', [INFRA, 'start-s3'], { encoding: 'utf8' }).status).toBe(0);
      await watch.until(frameIds.length);
      await stopProcess(worker);
      await watch.close();

      expect(down).toBeLessThan(frameIds.length);
      expectExactlyOnce(t, frameIds);
    },
    300_000,
  );
});
