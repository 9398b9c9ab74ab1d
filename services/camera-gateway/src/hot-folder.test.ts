import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@loomwatch/observability';
import { MemoryBlobStore } from '@loomwatch/storage';
import type { FabricSettings } from './fabric.js';
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

async function setup(dir = mkdtempSync(join(tmpdir(), 'hot-folder-')), producer = new RecordingPublisher(), fabrics: FabricSettings = {}, log = logger) {
  const store = new MemoryBlobStore();
  await store.ensureBucket('frames');
  const publisher = new FramePublisher({ store, publisher: producer, bucket: 'frames', source: '/test' });
  const rejected: string[] = [];
  const folder = new HotFolder(publisher, {
    dir,
    lineId: 'line-1',
    cameraId: 'cam-1',
    ...fabrics,
    settleMs: 0,
    logger: log,
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

  it("sends each frame's fabric: its AITEX name's when the config names none, and none for other names", async () => {
    const { dir, producer, scan } = await setup();
    writeFileSync(join(dir, '0044_019_04.png'), png);
    writeFileSync(join(dir, 'frame-0001.png'), otherPng);
    await scan();
    expect(producer.sent.map((event) => [event.attributes?.['sourceFile'], event.product])).toEqual([
      ['0044_019_04.png', { fabricCode: '04' }],
      ['frame-0001.png', undefined],
    ]);
  });

  it("watches the configured subfolders too, sending each frame its subfolder's fabric, else the folder's over its name's", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hot-folder-'));
    for (const sub of ['denim', 'twill', 'unlisted']) mkdirSync(join(dir, sub));
    writeFileSync(join(dir, '0044_019_04.png'), png);
    writeFileSync(join(dir, 'denim', '0001_000_02.png'), otherPng);
    writeFileSync(join(dir, 'twill', 'frame.png'), png);
    writeFileSync(join(dir, 'unlisted', 'frame.png'), otherPng);
    // "missing" does not exist yet: the camera software creates a product's folder when it starts on it.
    const { producer, scan } = await setup(dir, new RecordingPublisher(), { fabricCode: '01', fabricBySubfolder: { denim: '05', twill: '07', missing: '09' } });
    await scan();
    expect(producer.sent.map((event) => [event.attributes?.['sourceFile'], event.product?.fabricCode])).toEqual([
      ['0044_019_04.png', '01'],
      ['denim/0001_000_02.png', '05'],
      ['twill/frame.png', '07'],
    ]);
    expect(producer.sent.map((event) => event.seq)).toEqual([0, 1, 2]);

    mkdirSync(join(dir, 'missing'));
    writeFileSync(join(dir, 'missing', 'late.png'), otherPng);
    await scan();
    expect(producer.sent.at(-1)).toMatchObject({ seq: 3, product: { fabricCode: '09' }, attributes: { sourceFile: 'missing/late.png' } });
  });

  it('says once, not per frame, that the configured fabric overrides the one the file names give', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const dir = mkdtempSync(join(tmpdir(), 'hot-folder-'));
    for (const name of ['0001_000_04.png', '0002_000_04.png', '0003_000_07.png']) writeFileSync(join(dir, name), name.startsWith('0002') ? otherPng : png);
    const { producer, scan } = await setup(dir, new RecordingPublisher(), { fabricCode: '07' }, createLogger({ service: 'test', level: 'warn' }, sink));
    await scan();
    expect(producer.sent.map((event) => event.product?.fabricCode)).toEqual(['07', '07', '07']);
    const warnings = lines.map((line) => JSON.parse(line) as { msg: string; fileNameFabric?: string });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ fileNameFabric: '04' });
    expect(warnings[0]?.msg).toContain('hotFolder.fabricCode says 07: the config wins');
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
