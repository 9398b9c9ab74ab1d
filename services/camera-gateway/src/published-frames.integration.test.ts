import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { useTestKafka } from '@loomwatch/kafka/testing';
import { useTestS3 } from '@loomwatch/storage/testing';
import { aitexFrames } from '@loomwatch/testkit';
import { FramePublisher } from './frame-publisher.js';
import { PublishedFrames } from './published-frames.js';

const kafka = useTestKafka();
const s3 = useTestS3();
const image = readFileSync(aitexFrames()[0]?.path ?? '');

async function publishFrames(topic: string, count: number): Promise<{ frameId: string; sentAt: number }[]> {
  const bucket = await s3.bucket('frames');
  const producer = kafka.client.publisher();
  await producer.connect();
  const publisher = new FramePublisher({ store: s3.store, publisher: producer, bucket, source: '/test/lookup', topic });
  const out: { frameId: string; sentAt: number }[] = [];
  for (let seq = 0; seq < count; seq++) {
    const sentAt = Date.now();
    const event = await publisher.publish({ lineId: 'line-1', cameraId: `cam-${seq % 3}`, seq, capturedAt: new Date(), image, width: 4096, height: 256, encoding: 'png' });
    out.push({ frameId: event.frameId, sentAt });
  }
  await producer.close();
  return out;
}

describe('PublishedFrames on the real broker', () => {
  it('finds frames on any partition of the topic and not a frame that was never sent', async () => {
    const topic = await kafka.topic({ partitions: 3, prefix: 'frames' });
    const sent = await publishFrames(topic, 9);
    const lookup = new PublishedFrames({ kafka: kafka.client, topic });
    const found = await lookup.find([...sent.map((s) => s.frameId), 'line-1.cam-9.00000001.000000000000']);
    expect([...found].sort()).toEqual(sent.map((s) => s.frameId).sort());
    expect(await lookup.has('line-1.cam-9.00000001.000000000000')).toBe(false);
  });

  it('reads only the tail of each partition, unless given the time window of the publish', async () => {
    const topic = await kafka.topic({ prefix: 'frames' });
    const sent = await publishFrames(topic, 6);
    const lookup = new PublishedFrames({ kafka: kafka.client, topic, tailPerPartition: 2 });
    const [oldest] = sent;
    const newest = sent.at(-1);
    expect(await lookup.has(newest?.frameId ?? '')).toBe(true);
    expect(await lookup.has(oldest?.frameId ?? '')).toBe(false);
    const at = oldest?.sentAt ?? 0;
    expect(await lookup.has(oldest?.frameId ?? '', { fromMs: at - 1000, toMs: at + 1000 })).toBe(true);
  });

  it('answers false at once for an empty topic', async () => {
    const topic = await kafka.topic({ prefix: 'frames' });
    expect(await new PublishedFrames({ kafka: kafka.client, topic }).has('anything')).toBe(false);
  });
});
