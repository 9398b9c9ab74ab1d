import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@loomwatch/observability';
import { MemoryBlobStore } from '@loomwatch/storage';
import { FramePublisher } from './frame-publisher.js';
import { HotFolder, isCandidate } from './hot-folder.js';
import { RecordingPublisher } from './testing/fakes.js';

const logger = createLogger({ service: 'test', level: 'silent' });
let png: Buffer;
let otherPng: Buffer;

beforeAll(async () => {
  const make = (grey: number) =>
    sharp({ create: { width: 128, height: 32, channels: 3, background: { r: grey, g: grey, b: grey } } })
      .png()
      .toBuffer();
  [png, otherPng] = await Promise.all([make(80), make(160)]);
});

async function setup(dir = mkdtempSync(join(tmpdir(), 'hot-folder-')), producer = new RecordingPublisher()) {
  const store = new MemoryBlobStore();
  await store.ensureBucket('frames');
  const publisher = new FramePublisher({ store, publisher: producer, bucket: 'frames', source: '/test' });
  const rejected: string[] = [];
  const folder = new HotFolder(publisher, {
    dir,
    lineId: 'line-1',
    cameraId: 'cam-1',
    settleMs: 0,
    logger,
    alreadyPublished: (frameId) => Promise.resolve(producer.sent.some((event) => event.frameId === frameId)),
    onRejected: (file) => rejected.push(file),
  });
  /** Scans until nothing changes: settling takes two scans per file. */
  const scan = async (times = 3): Promise<void> => {
    for (let i = 0; i < times; i++) await folder.scanOnce();
  };
  return { dir, store, producer, folder, scan, rejected };
}

const sources = (producer: RecordingPublisher): string[] => producer.sent.map((event) => event.attributes?.['sourceFile'] ?? '');

describe('HotFolder', () => {
  it('publishes a file written in chunks only once its last chunk is there', async () => {
    const { dir, store, producer, scan } = await setup();
    const path = join(dir, 'frame-0001.png');
    const cut = Math.floor(png.length / 3);
    writeFileSync(path, png.subarray(0, cut));
    await scan();
    appendFileSync(path, png.subarray(cut, 2 * cut));
    await scan();
    expect(producer.sent).toHaveLength(0);
    appendFileSync(path, png.subarray(2 * cut));
    await scan();
    expect(producer.sent).toHaveLength(1);
    const [event] = producer.sent;
    expect(event?.image.bytes).toBe(png.length);
    expect((await store.get(event?.image ?? { bucket: 'frames', key: 'x' })).equals(png)).toBe(true);
  });

  it('ignores temporary names, dotfiles and files that are not images', async () => {
    const { dir, producer, scan } = await setup();
    for (const name of ['a.png.tmp', '.b.png', 'c.png.part', '~d.png', 'e.txt', 'f.png.crdownload', 'g.png']) writeFileSync(join(dir, name), png);
    await scan();
    expect(sources(producer)).toEqual(['g.png']);
    expect(['a.png.tmp', '.b.png', 'x.PNG', 'y.tiff'].map(isCandidate)).toEqual([false, false, true, true]);
  });

  it('skips a corrupt file without blocking the files after it, and takes it once it is replaced', async () => {
    const { dir, producer, scan, rejected } = await setup();
    writeFileSync(join(dir, 'a.png'), 'this is text, not a PNG');
    writeFileSync(join(dir, 'b.png'), png);
    await scan();
    await scan();
    expect(sources(producer)).toEqual(['b.png']);
    expect(rejected).toEqual(['a.png']);
    writeFileSync(join(dir, 'a.png'), otherPng);
    await scan();
    expect(sources(producer)).toEqual(['b.png', 'a.png']);
    expect(producer.sent.map((event) => event.seq)).toEqual([0, 1]);
  });

  it('numbers frames on from where the ledger left off after a restart', async () => {
    const first = await setup();
    writeFileSync(join(first.dir, 'a.png'), png);
    await first.scan();
    await first.folder.stop();
    writeFileSync(join(first.dir, 'b.png'), otherPng);
    const second = await setup(first.dir, first.producer);
    await second.folder.start();
    await second.scan();
    await second.folder.stop();
    expect(sources(first.producer)).toEqual(['a.png', 'b.png']);
    expect(first.producer.sent.map((event) => event.seq)).toEqual([0, 1]);
  });

  it('after a failed send, publishes the frame again only if it did not land, with the same seq', async () => {
    const { dir, producer, scan } = await setup();
    producer.failures = ['landed', 'lost'];
    writeFileSync(join(dir, 'a.png'), png);
    writeFileSync(join(dir, 'b.png'), otherPng);
    await scan(6);
    // a.png landed despite the error, so it is not sent again; b.png's first send was lost.
    expect(sources(producer)).toEqual(['a.png', 'b.png']);
    expect(producer.sent.map((event) => event.seq)).toEqual([0, 1]);
  });
});
