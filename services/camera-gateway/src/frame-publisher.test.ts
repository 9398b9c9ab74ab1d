import { describe, expect, it } from 'vitest';
import { LoomwatchError } from '@loomwatch/contracts';
import { MemoryBlobStore } from '@loomwatch/storage';
import { FramePublisher, sha256Hex, type CapturedFrame } from './frame-publisher.js';
import { RecordingPublisher } from './testing/fakes.js';

const frame = (seq: number, bytes = 'image bytes'): CapturedFrame => ({
  lineId: 'line-1',
  cameraId: 'cam-1',
  seq,
  capturedAt: new Date('2026-01-01T00:00:00Z'),
  image: Buffer.from(bytes),
  width: 4096,
  height: 256,
  encoding: 'png',
});

/** A store whose first `failures` puts fail as S3 does when it is down. */
class FlakyStore extends MemoryBlobStore {
  puts = 0;
  constructor(private failures: number) {
    super();
  }
  override put(...args: Parameters<MemoryBlobStore['put']>): Promise<void> {
    this.puts++;
    if (this.failures-- > 0) return Promise.reject(new LoomwatchError('STORAGE_UNAVAILABLE', 'connection refused', { retryable: true }));
    return super.put(...args);
  }
}

async function setup<S extends MemoryBlobStore>(store: S) {
  await store.ensureBucket('frames');
  const kafka = new RecordingPublisher();
  const publisher = new FramePublisher({ store, publisher: kafka, bucket: 'frames', source: '/test', retryInitialMs: 1 });
  return { store, kafka, publisher };
}

describe('FramePublisher', () => {
  it('uploads the image under a key derived from the frame id, then publishes its reference', async () => {
    const { store, kafka, publisher } = await setup(new MemoryBlobStore());
    const event = await publisher.publish(frame(7));
    expect(event.image.key).toBe(`frames/line-1/cam-1/${event.frameId}.png`);
    expect(event.image.sha256).toBe(sha256Hex(Buffer.from('image bytes')));
    expect((await store.get(event.image)).toString()).toBe('image bytes');
    expect(kafka.sent).toEqual([event]);
  });

  it('publishes a repeated frame once, also when the repeats arrive together', async () => {
    const { kafka, publisher } = await setup(new MemoryBlobStore());
    const events = await Promise.all([publisher.publish(frame(1)), publisher.publish(frame(1)), publisher.publish(frame(1))]);
    await publisher.publish(frame(1));
    expect(new Set(events.map((e) => e.frameId)).size).toBe(1);
    expect(kafka.sent).toHaveLength(1);
  });

  it('gives another seq or other bytes another frame id', async () => {
    const { publisher } = await setup(new MemoryBlobStore());
    const ids = [await publisher.publish(frame(1)), await publisher.publish(frame(2)), await publisher.publish(frame(1, 'other'))].map((e) => e.frameId);
    expect(new Set(ids).size).toBe(3);
  });

  it('retries an upload that fails transiently and publishes once it is stored', async () => {
    const { store, kafka, publisher } = await setup(new FlakyStore(3));
    const event = await publisher.publish(frame(1));
    expect(store.puts).toBe(4);
    expect(await store.head(event.image)).toBeDefined();
    expect(kafka.sent).toHaveLength(1);
  });

  it('publishes nothing when the upload keeps failing', async () => {
    const store = new FlakyStore(100);
    await store.ensureBucket('frames');
    const kafka = new RecordingPublisher();
    const publisher = new FramePublisher({ store, publisher: kafka, bucket: 'frames', source: '/t', uploadAttempts: 3, retryInitialMs: 1 });
    await expect(publisher.publish(frame(1))).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', retryable: true });
    expect(store.puts).toBe(3);
    expect(kafka.sent).toHaveLength(0);
  });

  it('reports a failed send as a retryable BROKER_UNAVAILABLE', async () => {
    const { kafka, publisher } = await setup(new MemoryBlobStore());
    kafka.failures = ['lost'];
    await expect(publisher.publish(frame(1))).rejects.toMatchObject({ code: 'BROKER_UNAVAILABLE', retryable: true });
    await publisher.publish(frame(1));
    expect(kafka.sent).toHaveLength(1);
  });
});
