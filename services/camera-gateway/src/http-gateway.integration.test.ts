import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameEvent, decodeMessage } from '@loomwatch/contracts';
import { createLogger } from '@loomwatch/observability';
import type { Publisher } from '@loomwatch/kafka';
import { useTestKafka } from '@loomwatch/kafka/testing';
import { useTestS3 } from '@loomwatch/storage/testing';
import { aitexFrames } from '@loomwatch/testkit';
import { FramePublisher } from './frame-publisher.js';
import { startHttpGateway, type HttpGateway } from './http-gateway.js';

const kafka = useTestKafka();
const s3 = useTestS3();
const logger = createLogger({ service: 'test', level: 'silent' });
const png = readFileSync(aitexFrames()[0]?.path ?? '');

let topic: string;
let bucket: string;
let producer: Publisher;
let gateway: HttpGateway;
let base: string;

beforeAll(async () => {
  topic = await kafka.topic({ partitions: 2, prefix: 'frames' });
  bucket = await s3.bucket('frames');
  producer = kafka.client.publisher();
  await producer.connect();
  const publisher = new FramePublisher({ store: s3.store, publisher: producer, bucket, source: '/test/http', topic });
  gateway = await startHttpGateway(publisher, { port: 0, logger, maxBodyBytes: png.length + 1024 });
  base = `http://127.0.0.1:${gateway.port}/v1/frames`;
});

afterAll(async () => {
  await gateway.close();
  await producer.close();
});

const post = (query: string, body: Buffer | string): Promise<Response> => fetch(`${base}?${query}`, { method: 'POST', body });
const errorOf = async (response: Response): Promise<{ code: string; message: string }> => ((await response.json()) as { error: { code: string; message: string } }).error;

describe('HTTP gateway on the real broker and S3', () => {
  it('stores a posted AITEX frame byte-exact, publishes one FrameEvent, and answers the same frame id when posted again', async () => {
    const first = await post('lineId=line-7&cameraId=cam-2&seq=41&fabricCode=05', png);
    expect(first.status).toBe(201);
    const { frameId, image } = (await first.json()) as { frameId: string; image: { bucket: string; key: string } };
    expect(image.bucket).toBe(bucket);
    expect((await s3.store.get(image)).equals(png)).toBe(true);

    const again = await post('lineId=line-7&cameraId=cam-2&seq=41&fabricCode=05', png);
    expect(again.status).toBe(201);
    expect(((await again.json()) as { frameId: string }).frameId).toBe(frameId);

    const events = (await kafka.readCommitted(topic, 1)).map((m) => decodeMessage(FrameEvent, m.value));
    expect(events.filter((e) => e.frameId === frameId)).toHaveLength(1);
    expect(events.find((e) => e.frameId === frameId)).toMatchObject({
      lineId: 'line-7',
      cameraId: 'cam-2',
      seq: 41,
      product: { fabricCode: '05' },
      image: { width: 4096, height: 256, encoding: 'png', bytes: png.length },
    });
  });

  it('answers 400 IMAGE_EMPTY to an empty body', async () => {
    const response = await post('lineId=l&cameraId=c&seq=1', '');
    expect(response.status).toBe(400);
    expect((await errorOf(response)).code).toBe('IMAGE_EMPTY');
  });

  it('answers 400 IMAGE_CORRUPT to a text body and to a truncated PNG', async () => {
    const text = await post('lineId=l&cameraId=c&seq=1', 'hello, this is not an image');
    expect(text.status).toBe(400);
    expect((await errorOf(text)).code).toBe('IMAGE_CORRUPT');
    const truncated = await post('lineId=l&cameraId=c&seq=1', png.subarray(0, png.length - 100));
    expect(truncated.status).toBe(400);
    expect((await errorOf(truncated)).code).toBe('IMAGE_CORRUPT');
  });

  it('answers 422 to an RGB and to a 16-bit image, with the codes the worker would dead-letter them with', async () => {
    const rgb = await sharp({ create: { width: 512, height: 256, channels: 3, background: { r: 200, g: 30, b: 30 } } }).png().toBuffer();
    const deep = await sharp({ create: { width: 512, height: 256, channels: 3, background: { r: 90, g: 90, b: 90 } } }).toColourspace('grey16').png().toBuffer();
    const colour = await post('lineId=l&cameraId=c&seq=1', rgb);
    expect(colour.status).toBe(422);
    expect((await errorOf(colour)).code).toBe('IMAGE_CHANNELS_UNSUPPORTED');
    const sixteen = await post('lineId=l&cameraId=c&seq=1', deep);
    expect(sixteen.status).toBe(422);
    expect((await errorOf(sixteen)).code).toBe('IMAGE_DEPTH_UNSUPPORTED');
  });

  it('answers 400 MESSAGE_SCHEMA_VIOLATION naming the bad field', async () => {
    for (const [query, field] of [
      ['lineId=l&cameraId=c&seq=-3', 'seq'],
      ['lineId=l&cameraId=c&seq=abc', 'seq'],
      ['lineId=l&cameraId=c&seq=', 'seq'],
      ['lineId=l&cameraId=c&seq=1&position=-2', 'position'],
      ['lineId=l%3Ax&cameraId=c&seq=1', 'lineId'],
      ['lineId=l&seq=1', 'cameraId'],
      ['lineId=l&cameraId=c&seq=1&capturedAt=yesterday', 'capturedAt'],
      ['lineId=l&cameraId=c&seq=1&colour=red', 'colour'],
      ['lineId=l&cameraId=c&seq=1&fabricCode=denim%20blue', 'fabricCode'],
      [`lineId=l&cameraId=c&seq=1&fabricCode=${'x'.repeat(33)}`, 'fabricCode'],
    ] as const) {
      const response = await post(query, png);
      expect(response.status, query).toBe(400);
      const error = await errorOf(response);
      expect(error.code, query).toBe('MESSAGE_SCHEMA_VIOLATION');
      expect(error.message, query).toContain(field);
    }
  });

  it('says a missing field is required', async () => {
    const response = await post('lineId=l&cameraId=c', png);
    expect(response.status).toBe(400);
    expect((await errorOf(response)).message).toBe('bad frame metadata in the query string — seq: required');
  });

  it('answers 413 IMAGE_TOO_LARGE to a body over the limit, declared or streamed', async () => {
    const big = Buffer.concat([png, png]);
    const declared = await post('lineId=l&cameraId=c&seq=1', big);
    expect(declared.status).toBe(413);
    expect((await errorOf(declared)).code).toBe('IMAGE_TOO_LARGE');
    const streamed = await fetch(`${base}?lineId=l&cameraId=c&seq=2`, {
      method: 'POST',
      body: new Blob([big]).stream(),
      duplex: 'half',
    });
    expect(streamed.status).toBe(413);
  });

  it('publishes nothing for a rejected request', async () => {
    const events = (await kafka.readCommitted(topic, 1)).map((m) => decodeMessage(FrameEvent, m.value));
    expect(events.map((e) => e.lineId)).toEqual(['line-7']);
  });
});
