import { describe, expect, it } from 'vitest';
import { FrameEvent, decodeMessage } from '@loomwatch/contracts';
import { useTestKafka } from '@loomwatch/kafka/testing';
import { useTestS3 } from '@loomwatch/storage/testing';
import { aitexFrames } from '@loomwatch/testkit';
import { FramePublisher, sha256Hex } from './frame-publisher.js';
import { runSimulator } from './simulator.js';

const kafka = useTestKafka();
const s3 = useTestS3();

describe('simulator on the real broker and S3', () => {
  it('publishes lines × cameras × frames FrameEvents, each camera in seq order, each after its image is stored', async () => {
    const topic = await kafka.topic({ partitions: 3, prefix: 'frames' });
    const bucket = await s3.bucket('frames');
    const producer = kafka.client.publisher();
    await producer.connect();
    const publisher = new FramePublisher({ store: s3.store, publisher: producer, bucket, source: '/test/simulator', topic });
    const files = aitexFrames()
      .slice(0, 5)
      .map((frame) => frame.path);
    const [lines, cameras, frames] = [2, 3, 4];
    const reported: FrameEvent[] = [];
    const count = await runSimulator(publisher, { files, lines, camerasPerLine: cameras, framesPerCamera: frames, fps: 50, firstSeq: 100, onPublished: (e) => reported.push(e) });
    await producer.close();

    expect(count).toBe(lines * cameras * frames);
    const messages = await kafka.readCommitted(topic, lines * cameras * frames);
    expect(messages).toHaveLength(lines * cameras * frames);
    const byCamera = new Map<string, FrameEvent[]>();
    for (const message of messages) {
      const event = decodeMessage(FrameEvent, message.value);
      expect(message.key).toBe(`${event.lineId}:${event.cameraId}`);
      expect(message.headers['ce_id']).toBe(event.frameId);
      expect(message.headers['ce_type']).toBe('io.loomwatch.frame.v1');
      byCamera.set(message.key ?? '', [...(byCamera.get(message.key ?? '') ?? []), event]);
      const object = await s3.store.get(event.image);
      expect(object.length).toBe(event.image.bytes);
      expect(sha256Hex(object)).toBe(event.image.sha256);
    }
    expect([...byCamera.keys()].sort()).toEqual(['line-1:cam-1', 'line-1:cam-2', 'line-1:cam-3', 'line-2:cam-1', 'line-2:cam-2', 'line-2:cam-3']);
    for (const events of byCamera.values()) expect(events.map((e) => e.seq)).toEqual([100, 101, 102, 103]);
    expect(new Set(messages.map((m) => m.headers['ce_id'])).size).toBe(messages.length);
    expect(reported).toHaveLength(messages.length);
  });

  it('stops every camera when asked, before the frame count is reached', async () => {
    const topic = await kafka.topic({ prefix: 'frames' });
    const bucket = await s3.bucket('frames');
    const producer = kafka.client.publisher();
    await producer.connect();
    const publisher = new FramePublisher({ store: s3.store, publisher: producer, bucket, source: '/test/simulator', topic });
    const stop = new AbortController();
    let seen = 0;
    const count = await runSimulator(publisher, {
      files: [aitexFrames()[0]?.path ?? ''],
      lines: 1,
      camerasPerLine: 2,
      fps: 0,
      signal: stop.signal,
      onPublished: () => {
        if (++seen === 3) stop.abort();
      },
    });
    await producer.close();
    expect(count).toBeGreaterThanOrEqual(3);
    expect(count).toBeLessThanOrEqual(4);
    expect(await kafka.readCommitted(topic, count)).toHaveLength(count);
  });
});
