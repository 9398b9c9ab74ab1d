import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FrameEvent, decodeMessage } from '@loomwatch/contracts';
import { sleep } from '@loomwatch/concurrency';
import { createLogger } from '@loomwatch/observability';
import { useTestKafka } from '@loomwatch/kafka/testing';
import { useTestS3 } from '@loomwatch/storage/testing';
import { aitexFrames } from '@loomwatch/testkit';
import type { FabricSettings } from './fabric.js';
import { FramePublisher, frameIdOf, sha256Hex } from './frame-publisher.js';
import { HotFolder } from './hot-folder.js';
import type { LedgerEntry } from './ledger.js';
import { PublishedFrames } from './published-frames.js';

const kafka = useTestKafka();
const s3 = useTestS3();
const logger = createLogger({ service: 'test', level: 'silent' });
const sources = aitexFrames()
  .filter((_, i) => i % 20 === 0)
  .slice(0, 7)
  .map((frame) => frame.path);

/** Polls until `done()` holds; fails after `ms`. */
async function until(done: () => boolean | Promise<boolean>, what: string, ms = 90_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('hot folder on the real broker and S3', () => {
  it('after a restart — with a torn ledger, a crash after a publish and one before — publishes each file exactly once, in seq order', async () => {
    const topic = await kafka.topic({ partitions: 2, prefix: 'frames' });
    const bucket = await s3.bucket('frames');
    const dir = mkdtempSync(join(tmpdir(), 'hot-folder-it-'));
    const ledgerPath = join(dir, '.loomwatch-ledger.jsonl');
    const producer = kafka.client.publisher();
    await producer.connect();
    const publisher = (): FramePublisher => new FramePublisher({ store: s3.store, publisher: producer, bucket, source: '/test/hot-folder', topic });
    const lookup = new PublishedFrames({ kafka: kafka.client, topic });
    const published: string[] = [];
    const folder = (): HotFolder =>
      new HotFolder(publisher(), {
        dir,
        lineId: 'line-1',
        cameraId: 'cam-1',
        settleMs: 50,
        pollMs: 20,
        logger,
        alreadyPublished: (frameId, window) => lookup.has(frameId, window),
        onPublished: (_event, file) => published.push(file),
      });
    const name = (i: number): string => `frame-${String(i).padStart(4, '0')}.png`;
    const drop = (i: number): void => copyFileSync(sources[i - 1] ?? '', join(dir, name(i)));

    // First run: three files published, then stopped.
    for (const i of [1, 2, 3]) drop(i);
    const first = folder();
    await first.start();
    await until(() => published.length === 3, 'the first three files');
    await first.stop();

    // A crash before the ledger's last `published` line hit the disk: frame 3 is on the topic, its line is torn.
    const lines = readFileSync(ledgerPath, 'utf8').trimEnd().split('\n');
    const last = lines.at(-1) ?? '';
    expect(JSON.parse(last)).toMatchObject({ file: name(3), state: 'published' });
    writeFileSync(ledgerPath, `${lines.slice(0, -1).join('\n')}\n${last.slice(0, 25)}`);

    // A crash after frame 5's publish, before its `published` line (a pending entry without a time: the tail is searched).
    const pendingFor = (i: number, seq: number): Omit<LedgerEntry, 'at'> => {
      const body = readFileSync(join(dir, name(i)));
      const info = statSync(join(dir, name(i)));
      return { file: name(i), size: info.size, mtimeMs: info.mtimeMs, seq, frameId: frameIdOf({ lineId: 'line-1', cameraId: 'cam-1', seq }, sha256Hex(body)), state: 'pending' };
    };
    drop(5);
    const body5 = readFileSync(join(dir, name(5)));
    await publisher().publish({ lineId: 'line-1', cameraId: 'cam-1', seq: 3, capturedAt: statSync(join(dir, name(5))).mtime, image: body5, width: 4096, height: 256, encoding: 'png', attributes: { sourceFile: name(5) } });
    // A crash after frame 4's pending line, before its publish.
    drop(4);
    appendFileSync(ledgerPath, `\n${JSON.stringify(pendingFor(5, 3))}\n${JSON.stringify({ ...pendingFor(4, 4), at: Date.now() })}\n`);

    // More files arrive while the gateway is down.
    for (const i of [6, 7]) drop(i);

    const second = folder();
    await second.start();
    const onTopic = async (): Promise<FrameEvent[]> => (await kafka.readCommitted(topic)).map((m) => decodeMessage(FrameEvent, m.value));
    await until(async () => new Set((await onTopic()).map((e) => e.attributes?.['sourceFile'])).size === 7, 'all seven files on the topic');
    await second.stop();
    await producer.close();

    const events = await onTopic();
    const files = events.map((e) => e.attributes?.['sourceFile']);
    expect([...files].sort()).toEqual([1, 2, 3, 4, 5, 6, 7].map(name));
    // One key, so one partition: offset order is publish order, and seq increases along it.
    expect(events.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(files).toEqual([1, 2, 3, 5, 4, 6, 7].map(name));
    for (const event of events) expect(sha256Hex(await s3.store.get(event.image))).toBe(event.image.sha256);
    expect(published).toEqual([1, 2, 3, 4, 6, 7].map(name));
  });

  it("publishes each frame with its fabric: from its AITEX name, its subfolder's config or the folder's, and none when nothing names it", async () => {
    const topic = await kafka.topic({ prefix: 'frames' });
    const bucket = await s3.bucket('frames');
    const dir = mkdtempSync(join(tmpdir(), 'hot-folder-it-'));
    mkdirSync(join(dir, 'denim'));
    // Two AITEX frames of different fabrics, under their own names (NNNN_DDD_FF.png).
    const [first, second] = [aitexFrames().find((f) => f.fabricCode === '02'), aitexFrames().find((f) => f.fabricCode === '05')];
    if (first === undefined || second === undefined) throw new Error('no AITEX frames of fabrics 02 and 05: set AITEX_DIR');
    copyFileSync(first.path, join(dir, basename(first.path)));
    copyFileSync(second.path, join(dir, 'denim', basename(second.path)));
    copyFileSync(sources[2] ?? '', join(dir, 'frame-0001.png'));
    const producer = kafka.client.publisher();
    await producer.connect();
    const published: string[] = [];
    const start = async (settings: FabricSettings): Promise<HotFolder> => {
      const folder = new HotFolder(new FramePublisher({ store: s3.store, publisher: producer, bucket, source: '/test/hot-folder', topic }), {
        dir,
        lineId: 'line-3',
        cameraId: 'cam-1',
        ...settings,
        settleMs: 50,
        pollMs: 20,
        logger,
        alreadyPublished: () => Promise.resolve(false),
        onPublished: (_event, file) => published.push(file),
      });
      await folder.start();
      return folder;
    };
    // Without config the name is all there is: the subfolder is not watched, frame-0001 has no fabric.
    const bare = await start({});
    await until(() => published.length === 2, 'the two files of the folder itself');
    await bare.stop();
    // A new camera folder with a fabric for its subfolder and for the rest: config wins over the name.
    copyFileSync(first.path, join(dir, 'denim', 'frame-0002.png'));
    copyFileSync(sources[3] ?? '', join(dir, 'frame-0003.png'));
    const configured = await start({ fabricCode: 'plain-01', fabricBySubfolder: { denim: '05' } });
    await until(() => published.length === 5, 'the subfolder and the new file');
    await configured.stop();
    await producer.close();

    const events = (await kafka.readCommitted(topic, 5)).map((m) => decodeMessage(FrameEvent, m.value));
    expect(events.map((e) => [e.attributes?.['sourceFile'], e.product?.fabricCode])).toEqual([
      [basename(first.path), '02'],
      ['frame-0001.png', undefined],
      [`denim/${basename(second.path)}`, '05'],
      ['denim/frame-0002.png', '05'],
      ['frame-0003.png', 'plain-01'],
    ]);
    for (const event of events) expect(sha256Hex(await s3.store.get(event.image))).toBe(event.image.sha256);
  });

  it('publishes a file written slowly only once it is whole, past temp files and a corrupt file', async () => {
    const topic = await kafka.topic({ prefix: 'frames' });
    const bucket = await s3.bucket('frames');
    const dir = mkdtempSync(join(tmpdir(), 'hot-folder-it-'));
    const producer = kafka.client.publisher();
    await producer.connect();
    const published: string[] = [];
    const folder = new HotFolder(new FramePublisher({ store: s3.store, publisher: producer, bucket, source: '/test/hot-folder', topic }), {
      dir,
      lineId: 'line-2',
      cameraId: 'cam-1',
      settleMs: 50,
      pollMs: 20,
      logger,
      alreadyPublished: () => Promise.resolve(false),
      onPublished: (_event, file) => published.push(file),
    });
    await folder.start();
    writeFileSync(join(dir, 'a-corrupt.png'), 'a camera wrote text here');
    const whole = readFileSync(sources[0] ?? '');
    writeFileSync(join(dir, 'b-slow.png.part'), whole);
    // The camera pauses far longer than settleMs between chunks: only the format's trailer tells.
    const path = join(dir, 'c-slow.png');
    const chunks = 4;
    for (let i = 0; i < chunks; i++) {
      appendFileSync(path, whole.subarray(Math.floor((i * whole.length) / chunks), Math.floor(((i + 1) * whole.length) / chunks)));
      if (i < chunks - 1) await sleep(400);
    }
    writeFileSync(join(dir, 'd-after.png'), readFileSync(sources[1] ?? ''));
    await until(() => published.length === 2, 'the two good files');
    await folder.stop();
    await producer.close();

    const events = (await kafka.readCommitted(topic, 2)).map((m) => decodeMessage(FrameEvent, m.value));
    expect(events.map((e) => e.attributes?.['sourceFile'])).toEqual(['c-slow.png', 'd-after.png']);
    expect((await s3.store.get(events[0]?.image ?? { bucket, key: 'missing' })).equals(whole)).toBe(true);
  });
});
