import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameEvent, decodeMessage } from '@loomwatch/contracts';
import { httpLimitsConfig } from '@loomwatch/http';
import { createLogger } from '@loomwatch/observability';
import type { Publisher } from '@loomwatch/kafka';
import { useTestKafka } from '@loomwatch/kafka/testing';
import { useTestS3 } from '@loomwatch/storage/testing';
import { aitexFrames } from '@loomwatch/testkit';
import { loadCameraCredentials, mintCameraCredential } from './credentials.js';
import { FramePublisher } from './frame-publisher.js';
import { startHttpGateway, type HttpGateway } from './http-gateway.js';

const kafka = useTestKafka();
const s3 = useTestS3();
const logger = createLogger({ service: 'test', level: 'silent' });
const png = readFileSync(aitexFrames()[0]?.path ?? '');
const camA = mintCameraCredential({ lineId: 'line-7', cameraId: 'cam-2' });
const camB = mintCameraCredential({ lineId: 'line-7', cameraId: 'cam-3' });

let topic: string;
let bucket: string;
let producer: Publisher;
let gateway: HttpGateway;
let open: HttpGateway;
let base: string;

beforeAll(async () => {
  topic = await kafka.topic({ partitions: 2, prefix: 'frames' });
  bucket = await s3.bucket('frames');
  producer = kafka.client.publisher();
  await producer.connect();
  const publisher = new FramePublisher({ store: s3.store, publisher: producer, bucket, source: '/test/http', topic });
  const file = join(mkdtempSync(join(tmpdir(), 'gateway-cameras-')), 'cameras.json');
  writeFileSync(file, JSON.stringify([camA.entry, camB.entry]));
  const limits = httpLimitsConfig({ maxBodyBytes: png.length + 1024 }).parse({});
  gateway = await startHttpGateway(publisher, { port: 0, host: '127.0.0.1', limits, cameras: loadCameraCredentials(file), logger });
  open = await startHttpGateway(publisher, { port: 0, host: '127.0.0.1', limits, cameras: 'none', logger });
  base = `http://127.0.0.1:${gateway.port}/v1/frames`;
});

afterAll(async () => {
  await gateway.close();
  await open.close();
  await producer.close();
});

const post = (query: string, body: Buffer | string, token = camA.token): Promise<Response> => fetch(`${base}?${query}`, { method: 'POST', body, headers: { authorization: `Bearer ${token}` } });

/** The problem+json body of a refusal (and that it is one). */
async function problemOf(response: Response): Promise<{ code: string; detail: string; status: number }> {
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const problem = (await response.json()) as { code: string; detail: string; status: number };
  expect(problem.status).toBe(response.status);
  return problem;
}

const framesOnTopic = async (atLeast = 0): Promise<FrameEvent[]> => (await kafka.readCommitted(topic, atLeast)).map((m) => decodeMessage(FrameEvent, m.value));

describe('HTTP gateway on the real broker and S3', () => {
  it("publishes a frame under its token's line and camera, stores it byte-exact, and answers the same frame id when posted again", async () => {
    const first = await post('seq=41&fabricCode=05', png);
    expect(first.status).toBe(201);
    const { frameId, image } = (await first.json()) as { frameId: string; image: { bucket: string; key: string } };
    expect(image.bucket).toBe(bucket);
    expect((await s3.store.get(image)).equals(png)).toBe(true);

    const again = await post('lineId=line-7&cameraId=cam-2&seq=41&fabricCode=05', png);
    expect(again.status).toBe(201);
    expect(((await again.json()) as { frameId: string }).frameId).toBe(frameId);

    const events = await framesOnTopic(1);
    expect(events.filter((e) => e.frameId === frameId)).toHaveLength(1);
    expect(events.find((e) => e.frameId === frameId)).toMatchObject({
      lineId: 'line-7',
      cameraId: 'cam-2',
      seq: 41,
      product: { fabricCode: '05' },
      image: { width: 4096, height: 256, encoding: 'png', bytes: png.length },
    });
  });

  it("publishes camera B's frame as camera B", async () => {
    const response = await post('seq=7', png, camB.token);
    expect(response.status).toBe(201);
    const { frameId } = (await response.json()) as { frameId: string };
    expect((await framesOnTopic(2)).find((e) => e.frameId === frameId)).toMatchObject({ lineId: 'line-7', cameraId: 'cam-3', seq: 7 });
  });

  it("answers 403 CAMERA_MISMATCH when camera A's token names camera B, and publishes nothing", async () => {
    for (const query of ['lineId=line-7&cameraId=cam-3&seq=99', 'cameraId=cam-3&seq=99', 'lineId=line-8&seq=99', 'lineId=line-8&cameraId=cam-2&seq=99']) {
      const response = await post(query, png);
      expect(response.status, query).toBe(403);
      const problem = await problemOf(response);
      expect(problem.code, query).toBe('CAMERA_MISMATCH');
      expect(problem.detail, query).toContain('line-7/cam-2');
    }
    expect((await framesOnTopic(2)).filter((e) => e.seq === 99)).toEqual([]);
  });

  it('answers 401 without a token, with an unknown token and with another scheme, before reading the body', async () => {
    for (const authorization of [undefined, `Bearer ${mintCameraCredential({ lineId: 'line-7', cameraId: 'cam-2' }).token}`, `Basic ${camA.token}`, 'Bearer', `Bearer ${camA.token}x`]) {
      const response = await fetch(`${base}?seq=98`, { method: 'POST', body: png, headers: authorization === undefined ? {} : { authorization } });
      expect(response.status, authorization).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="loomwatch"');
      const problem = await problemOf(response);
      expect(problem.code).toBe('UNAUTHORIZED');
      expect(problem.detail).not.toContain(camA.token);
    }
    // A body over the limit is not read for a caller without a token: 401, not 413.
    const big = await fetch(`${base}?seq=98`, { method: 'POST', body: Buffer.concat([png, png]) });
    expect(big.status).toBe(401);
    expect((await framesOnTopic(2)).filter((e) => e.seq === 98)).toEqual([]);
  });

  it('answers 400 IMAGE_EMPTY to an empty body', async () => {
    const response = await post('seq=1', '');
    expect(response.status).toBe(400);
    expect((await problemOf(response)).code).toBe('IMAGE_EMPTY');
  });

  it('answers 400 IMAGE_CORRUPT to a text body and to a truncated PNG', async () => {
    const text = await post('seq=1', 'hello, this is not an image');
    expect(text.status).toBe(400);
    expect((await problemOf(text)).code).toBe('IMAGE_CORRUPT');
    const truncated = await post('seq=1', png.subarray(0, png.length - 100));
    expect(truncated.status).toBe(400);
    expect((await problemOf(truncated)).code).toBe('IMAGE_CORRUPT');
  });

  it('takes the image whatever content type the client declares (curl --data-binary sends a form type)', async () => {
    for (const type of ['application/x-www-form-urlencoded', 'application/json', 'image/png', 'text/plain', 'multipart/form-data; boundary=x']) {
      const response = await fetch(`${base}?seq=42`, { method: 'POST', body: png, headers: { authorization: `Bearer ${camA.token}`, 'content-type': type } });
      expect(response.status, type).toBe(201);
    }
  });

  it('answers 422 to an RGB and to a 16-bit image, with the codes the worker would dead-letter them with', async () => {
    const rgb = await sharp({ create: { width: 512, height: 256, channels: 3, background: { r: 200, g: 30, b: 30 } } }).png().toBuffer();
    const deep = await sharp({ create: { width: 512, height: 256, channels: 3, background: { r: 90, g: 90, b: 90 } } }).toColourspace('grey16').png().toBuffer();
    const colour = await post('seq=1', rgb);
    expect(colour.status).toBe(422);
    expect((await problemOf(colour)).code).toBe('IMAGE_CHANNELS_UNSUPPORTED');
    const sixteen = await post('seq=1', deep);
    expect(sixteen.status).toBe(422);
    expect((await problemOf(sixteen)).code).toBe('IMAGE_DEPTH_UNSUPPORTED');
  });

  it('answers 400 MESSAGE_SCHEMA_VIOLATION naming the bad field', async () => {
    for (const [query, field] of [
      ['seq=-3', 'seq'],
      ['seq=abc', 'seq'],
      ['seq=', 'seq'],
      ['seq=1&position=-2', 'position'],
      ['lineId=l%3Ax&seq=1', 'lineId'],
      ['seq=1&capturedAt=yesterday', 'capturedAt'],
      ['seq=1&colour=red', 'colour'],
      ['seq=1&fabricCode=denim%20blue', 'fabricCode'],
      [`seq=1&fabricCode=${'x'.repeat(33)}`, 'fabricCode'],
    ] as const) {
      const response = await post(query, png);
      expect(response.status, query).toBe(400);
      const problem = await problemOf(response);
      expect(problem.code, query).toBe('MESSAGE_SCHEMA_VIOLATION');
      expect(problem.detail, query).toContain(field);
    }
  });

  it('says a missing field is required', async () => {
    const response = await post('', png);
    expect(response.status).toBe(400);
    expect((await problemOf(response)).detail).toBe('bad frame metadata in the query string — seq: required');
  });

  it('answers 413 BODY_TOO_LARGE to a body over the limit, declared or streamed', async () => {
    const big = Buffer.concat([png, png]);
    const declared = await post('seq=1', big);
    expect(declared.status).toBe(413);
    expect((await problemOf(declared)).code).toBe('BODY_TOO_LARGE');
    const streamed = await fetch(`${base}?seq=2`, {
      method: 'POST',
      body: new Blob([big]).stream(),
      headers: { authorization: `Bearer ${camA.token}` },
      duplex: 'half',
    });
    expect(streamed.status).toBe(413);
    expect((await problemOf(streamed)).code).toBe('BODY_TOO_LARGE');
  });

  it('answers 405 to another method on the route and 404 elsewhere, as problem+json', async () => {
    const get = await fetch(base);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect((await problemOf(get)).code).toBe('METHOD_NOT_ALLOWED');
    const elsewhere = await fetch(`http://127.0.0.1:${gateway.port}/v1/frame`, { method: 'POST', body: png });
    expect(elsewhere.status).toBe(404);
    expect((await problemOf(elsewhere)).code).toBe('ROUTE_NOT_FOUND');
  });

  it('with auth none, takes the line and camera from the query, and requires them', async () => {
    const openBase = `http://127.0.0.1:${open.port}/v1/frames`;
    const named = await fetch(`${openBase}?lineId=line-9&cameraId=cam-1&seq=5`, { method: 'POST', body: png });
    expect(named.status).toBe(201);
    const { frameId } = (await named.json()) as { frameId: string };
    expect((await framesOnTopic(3)).find((e) => e.frameId === frameId)).toMatchObject({ lineId: 'line-9', cameraId: 'cam-1' });
    const unnamed = await fetch(`${openBase}?lineId=line-9&seq=6`, { method: 'POST', body: png });
    expect(unnamed.status).toBe(400);
    expect((await problemOf(unnamed)).detail).toBe('bad frame metadata in the query string — cameraId: required');
  });

  it('publishes nothing for a refused request', async () => {
    const events = await framesOnTopic(4);
    expect(events.map((e) => `${e.lineId}/${e.cameraId}/${e.seq}`).sort()).toEqual(['line-7/cam-2/41', 'line-7/cam-2/42', 'line-7/cam-3/7', 'line-9/cam-1/5']);
  });
});
