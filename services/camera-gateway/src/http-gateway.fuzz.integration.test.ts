/**
 * Property-based malformed requests against the real HTTP gateway (real broker and S3, an ephemeral
 * port): random paths, methods, headers, content types, query fields, tokens (none, unknown, the
 * other camera's, mangled) and bodies (empty, garbage, truncated, colour, too large), and raw
 * requests that lie about their length or break HTTP. Whatever comes in, the gateway answers only
 * its documented statuses, every refusal is problem+json with a `code`, only a 201 publishes a
 * frame (under its token's camera), it keeps answering, and no token reaches its log.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameEvent, decodeMessage } from '@loomwatch/contracts';
import { httpLimitsConfig } from '@loomwatch/http';
import type { Publisher } from '@loomwatch/kafka';
import { useTestKafka } from '@loomwatch/kafka/testing';
import { createLogger } from '@loomwatch/observability';
import { useTestS3 } from '@loomwatch/storage/testing';
import { loadCameraCredentials, mintCameraCredential, type Camera } from './credentials.js';
import { FramePublisher } from './frame-publisher.js';
import { startHttpGateway, type HttpGateway } from './http-gateway.js';

const kafka = useTestKafka();
const s3 = useTestS3();
const MAX_BODY = 64 * 1024;
/** The statuses the README documents for POST /v1/frames and its neighbours (no 5xx: the broker and S3 are up). */
const DOCUMENTED = new Set([201, 400, 401, 403, 404, 405, 408, 413, 414, 415, 422, 429, 431]);

const camA = mintCameraCredential({ lineId: 'line-1', cameraId: 'cam-a' });
const camB = mintCameraCredential({ lineId: 'line-1', cameraId: 'cam-b' });
const stranger = mintCameraCredential({ lineId: 'line-1', cameraId: 'cam-a' }); // valid shape, in no file
const TOKENS = [camA.token, camB.token, stranger.token];
const HOLDERS: Readonly<Record<string, Camera>> = {
  [camA.token]: { lineId: 'line-1', cameraId: 'cam-a' },
  [camB.token]: { lineId: 'line-1', cameraId: 'cam-b' },
};

const logLines: string[] = [];
const logger = createLogger({ service: 'fuzz', level: 'debug' }, new Writable({ write: (chunk: Buffer, _encoding, done) => (logLines.push(chunk.toString()), done()) }));

let topic: string;
let producer: Publisher;
let gateway: HttpGateway;
let origin: string;
let images: Record<'gray' | 'jpeg' | 'rgb' | 'deep', Buffer>;
/** Frame id → the camera of the token that got its 201. */
const published = new Map<string, Camera>();
/** How often each status was answered: the properties must have reached the paths they are about. */
const seen = new Map<number, number>();
const rawSeen = new Set<number>();

beforeAll(async () => {
  topic = await kafka.topic({ prefix: 'frames-fuzz' });
  const bucket = await s3.bucket('frames-fuzz');
  producer = kafka.client.publisher();
  await producer.connect();
  const publisher = new FramePublisher({ store: s3.store, publisher: producer, bucket, source: '/test/fuzz', topic });
  const file = join(mkdtempSync(join(tmpdir(), 'gateway-fuzz-')), 'cameras.json');
  writeFileSync(file, JSON.stringify([camA.entry, camB.entry]));
  const limits = httpLimitsConfig({ maxBodyBytes: MAX_BODY }).parse({ maxRequestsPerClient: 64 });
  gateway = await startHttpGateway(publisher, { port: 0, host: '127.0.0.1', limits, cameras: loadCameraCredentials(file), logger });
  origin = `http://127.0.0.1:${gateway.port}`;
  const gray = sharp({ create: { width: 64, height: 32, channels: 3, background: { r: 120, g: 120, b: 120 } } }).toColourspace('b-w');
  images = {
    gray: await gray.clone().png().toBuffer(),
    jpeg: await gray.clone().jpeg().toBuffer(),
    rgb: await sharp({ create: { width: 64, height: 32, channels: 3, background: { r: 200, g: 30, b: 30 } } }).png().toBuffer(),
    deep: await gray.clone().toColourspace('grey16').png().toBuffer(),
  };
});

afterAll(async () => {
  await gateway.close();
  await producer.close();
});

// ---- arbitraries ----

const printable = (max: number) => fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/;= '), maxLength: max });

/** Mostly the valid part of a request, else a malformed one: so that most runs break one or two things, and some none. */
const mostly = <T,>(valid: fc.Arbitrary<T>, malformed: fc.Arbitrary<T>): fc.Arbitrary<T> => fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: malformed });

const path = mostly(fc.constant('/v1/frames'), fc.oneof(fc.constantFrom('/v1/frames/', '/V1/frames', '/v1/frames/x', '/', '/v1', '/v1/frames%2f', '/v1/../v1/frames', '/v1/frames;x', '//v1/frames'), fc.webPath()));

const method = mostly(fc.constant('POST'), fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'));

const idLike = fc.oneof(fc.constantFrom('line-1', 'line-2', 'cam-a', 'cam-b', '', 'a:b', '../x', 'x'.repeat(200)), printable(20));
const query = fc.record({
  // Valid: left out (the token names the camera); malformed: any id, often another camera's.
  lineId: mostly(fc.constant(undefined), idLike),
  cameraId: mostly(fc.constant(undefined), idLike),
  seq: mostly(fc.nat({ max: 20 }).map(String), fc.oneof(fc.constantFrom(undefined, '', '-1', '1.5', '1e3', '9007199254740993', 'abc'), printable(10))),
  capturedAt: mostly(fc.constantFrom(undefined, '2026-12-07T10:00:00Z'), printable(30)),
  fabricCode: mostly(fc.constantFrom(undefined, '05', '07'), fc.oneof(fc.constantFrom('denim blue', 'x'.repeat(40)), printable(10))),
  position: mostly(fc.constantFrom(undefined, '1.5', '12'), fc.oneof(fc.constantFrom('-2', 'NaN'), printable(6))),
  extra: mostly(fc.constant(undefined), printable(8)),
});

type Auth = { kind: 'none' } | { kind: 'header'; value: string; token: string | undefined };
const auth: fc.Arbitrary<Auth> = mostly(
  fc.constantFrom(camA.token, camB.token).map<Auth>((token) => ({ kind: 'header', value: `Bearer ${token}`, token })),
  fc.oneof(
    fc.constant<Auth>({ kind: 'none' }),
    fc.constant<Auth>({ kind: 'header', value: `Bearer ${stranger.token}`, token: stranger.token }),
    fc.constantFrom(`Basic ${camA.token}`, `Bearer ${camA.token.slice(0, -1)}`, `Bearer ${camA.token} ${camA.token}`, 'Bearer', 'Bearer ', `Token ${camB.token}`).map<Auth>((value) => ({ kind: 'header', value, token: undefined })),
    printable(60).map<Auth>((value) => ({ kind: 'header', value, token: undefined })),
  ),
);

const contentType = fc.option(fc.oneof(fc.constantFrom('image/png', 'image/jpeg', 'application/octet-stream', 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'), printable(40)), { nil: undefined });

type Body = { kind: 'empty' } | { kind: 'image'; name: 'gray' | 'jpeg' | 'rgb' | 'deep' } | { kind: 'truncated'; name: 'gray' | 'jpeg'; keep: number } | { kind: 'bytes'; bytes: Uint8Array } | { kind: 'png-garbage'; bytes: Uint8Array } | { kind: 'too-large' };
const body: fc.Arbitrary<Body> = mostly(
  fc.constantFrom('gray', 'jpeg').map<Body>((name) => ({ kind: 'image', name })),
  fc.oneof(
    fc.constant<Body>({ kind: 'empty' }),
    fc.constantFrom('rgb', 'deep').map<Body>((name) => ({ kind: 'image', name })),
    fc.record({ name: fc.constantFrom('gray', 'jpeg'), keep: fc.double({ min: 0, max: 0.99, noNaN: true }) }).map<Body>(({ name, keep }) => ({ kind: 'truncated', name, keep })),
    fc.uint8Array({ maxLength: 2048 }).map<Body>((bytes) => ({ kind: 'bytes', bytes })),
    fc.uint8Array({ maxLength: 512 }).map<Body>((bytes) => ({ kind: 'png-garbage', bytes })),
    fc.constant<Body>({ kind: 'too-large' }),
  ),
);

function bytesOf(spec: Body): Buffer {
  switch (spec.kind) {
    case 'empty':
      return Buffer.alloc(0);
    case 'image':
      return images[spec.name];
    case 'truncated':
      return images[spec.name].subarray(0, Math.floor(images[spec.name].length * spec.keep));
    case 'bytes':
      return Buffer.from(spec.bytes);
    case 'png-garbage':
      return Buffer.concat([images.gray.subarray(0, 33), Buffer.from(spec.bytes)]);
    case 'too-large':
      return Buffer.alloc(MAX_BODY + 1, 7);
  }
}

const extraHeaders = fc.dictionary(fc.constantFrom('x-line-id', 'x-camera-id', 'x-forwarded-for', 'accept', 'x-random', 'expect-ct'), printable(30), { maxKeys: 3 });

// ---- checks ----

interface Answer {
  status: number;
  contentType: string | null;
  body: string;
}

/** Only documented statuses; a refusal is problem+json with a code and its own status. */
function checkAnswer(answer: Answer, label: string, headRequest = false): void {
  seen.set(answer.status, (seen.get(answer.status) ?? 0) + 1);
  expect(DOCUMENTED.has(answer.status), `${label}: status ${answer.status} ${answer.body}`).toBe(true);
  if (answer.status === 201 || headRequest) return;
  expect(answer.contentType, `${label}: ${answer.status} ${answer.body}`).toMatch(/^application\/problem\+json/);
  const problem = JSON.parse(answer.body) as { code?: unknown; status?: unknown; detail?: unknown };
  expect(typeof problem.code, `${label}: ${answer.body}`).toBe('string');
  expect(problem.status, label).toBe(answer.status);
  expect(String(problem.detail)).not.toMatch(/\n\s+at /);
}

describe('the HTTP gateway under malformed requests (fast-check, real broker and S3)', () => {
  it('answers only documented statuses, refuses as problem+json with a code, and publishes only on 201 as the token’s camera', async () => {
    await fc.assert(
      fc.asyncProperty(method, path, query, auth, contentType, body, extraHeaders, async (verb, route, fields, credential, type, spec, extra) => {
        const search = new URLSearchParams(Object.entries(fields).filter((entry): entry is [string, string] => entry[1] !== undefined));
        const headers: Record<string, string> = { ...extra };
        if (credential.kind === 'header') headers['authorization'] = credential.value;
        if (type !== undefined) headers['content-type'] = type;
        const bytes = verb === 'GET' || verb === 'HEAD' ? undefined : bytesOf(spec);
        const response = await fetch(`${origin}${route}?${search.toString()}`, { method: verb, headers, ...(bytes === undefined ? {} : { body: bytes }) });
        const answer = { status: response.status, contentType: response.headers.get('content-type'), body: await response.text() };
        const label = `${verb} ${route}?${search.toString()} auth=${credential.kind === 'header' ? credential.value.slice(0, 12) : 'none'} body=${spec.kind}`;
        checkAnswer(answer, label, verb === 'HEAD');
        if (answer.status === 201) {
          const holder = credential.kind === 'header' && credential.token !== undefined ? HOLDERS[credential.token] : undefined;
          expect(holder, `${label}: 201 without a camera's token`).toBeDefined();
          // Only a request that names no other camera than its token's gets through.
          expect([fields.lineId ?? holder?.lineId, fields.cameraId ?? holder?.cameraId], label).toEqual([holder?.lineId, holder?.cameraId]);
          published.set((JSON.parse(answer.body) as { frameId: string }).frameId, holder as Camera);
        }
      }),
      { numRuns: 1000, interruptAfterTimeLimit: 25_000 },
    );
    for (const status of [201, 400, 401, 403, 404, 405]) expect(seen.get(status) ?? 0, `no ${status} among ${JSON.stringify([...seen])}: the runs missed that path`).toBeGreaterThan(0);
  }, 60_000);

  it('answers raw requests that lie about their length or break HTTP with a documented status or a closed connection', async () => {
    // Described by name and number, built in the property, so a counterexample prints short.
    const raw = fc.oneof(
      // Declares less than it sends: the rest is read as a next request.
      fc.record({ kind: fc.constant('declares-less'), n: fc.nat({ max: 200 }) }),
      // Declares more than it sends, then stops sending.
      fc.record({ kind: fc.constant('declares-more'), n: fc.nat({ max: 1000 }) }),
      fc.record({ kind: fc.constantFrom(...Object.keys(RAW_REQUESTS)), n: fc.constant(0) }),
      fc.record({ kind: fc.constant('garbage'), n: fc.nat() }),
    );
    await fc.assert(
      fc.asyncProperty(raw, async ({ kind, n }) => {
        const request = rawRequest(kind, n);
        for (const answer of await sendRaw(gateway.port, request)) {
          rawSeen.add(answer.status);
          checkAnswer(answer, `raw ${JSON.stringify(request.subarray(0, 80).toString('latin1'))}`);
          // A raw request never carries a valid frame for a 201 that publishes another camera: note it.
          if (answer.status === 201) published.set((JSON.parse(answer.body) as { frameId: string }).frameId, HOLDERS[camA.token] as Camera);
        }
      }),
      { numRuns: 300, interruptAfterTimeLimit: 15_000 },
    );
    // Answers were read (not only closed connections): a malformed request and an over-long header line.
    expect(rawSeen.has(400) && rawSeen.has(431), JSON.stringify([...rawSeen])).toBe(true);
  }, 60_000);

  it('keeps answering, published exactly the frames it answered 201 for under their cameras, and logged no token', async () => {
    const healthy = await fetch(`${origin}/v1/frames?seq=1000`, { method: 'POST', body: images.gray, headers: { authorization: `Bearer ${camB.token}` } });
    expect(healthy.status).toBe(201);
    published.set(((await healthy.json()) as { frameId: string }).frameId, HOLDERS[camB.token] as Camera);

    const events = (await kafka.readCommitted(topic, published.size)).map((m) => decodeMessage(FrameEvent, m.value));
    expect(new Set(events.map((e) => e.frameId))).toEqual(new Set(published.keys()));
    for (const event of events) expect({ lineId: event.lineId, cameraId: event.cameraId }, event.frameId).toEqual(published.get(event.frameId));

    // The log was written to (so the check below looks at something), and holds no token.
    expect(logLines.some((line) => line.includes('UNAUTHORIZED'))).toBe(true);
    const log = logLines.join('');
    for (const token of TOKENS) {
      expect(log.includes(token)).toBe(false);
      expect(log.includes(token.slice(3, 20))).toBe(false);
    }
  });
});

const head = (extra: string): string => `POST /v1/frames?seq=3 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${camA.token}\r\nconnection: close\r\n${extra}\r\n`;
const RAW_REQUESTS: Readonly<Record<string, string>> = {
  'negative-length': head('content-length: -1\r\n'),
  'text-length': head('content-length: abc\r\n'),
  'two-lengths': head('content-length: 10\r\ncontent-length: 20\r\n'),
  'length-and-chunked': `${head('content-length: 5\r\ntransfer-encoding: chunked\r\n')}0\r\n\r\n`,
  'bad-chunk-size': `${head('transfer-encoding: chunked\r\n')}zz\r\nhello\r\n0\r\n\r\n`,
  'chunked-text': `${head('transfer-encoding: chunked\r\n')}5\r\nhello\r\n0\r\n\r\n`,
  'declares-too-much': head(`content-length: ${MAX_BODY * 4}\r\n`),
  'unknown-method': 'FOO /v1/frames HTTP/1.1\r\nhost: x\r\n\r\n',
  'http-9.9': 'POST /v1/frames HTTP/9.9\r\nhost: x\r\n\r\n',
  'bad-header-line': 'POST /v1/frames?seq=1 HTTP/1.1\r\nhost: x\r\nbad header line\r\n\r\n',
  'latin1-token': 'POST /v1/frames?seq=1 HTTP/1.1\r\nhost: x\r\nconnection: close\r\nauthorization: Bearer \u00ff\u00fe\r\ncontent-length: 0\r\n\r\n',
  'long-header': `POST /v1/frames?seq=1 HTTP/1.1\r\nhost: x\r\nx-long: ${'a'.repeat(20_000)}\r\n\r\n`,
  'long-url': `POST /v1/frames?seq=1&x=${'a'.repeat(20_000)} HTTP/1.1\r\nhost: x\r\n\r\n`,
  'http-1.0': 'GET /v1/frames HTTP/1.0\r\n\r\n',
  'blank-lines': '\r\n\r\n',
  'no-path': 'POST  HTTP/1.1\r\n\r\n',
};

function rawRequest(kind: string, n: number): Buffer {
  const png = images.gray;
  switch (kind) {
    case 'declares-less':
      return Buffer.concat([Buffer.from(head(`content-length: ${Math.max(0, png.length - n - 1)}\r\n`)), png]);
    case 'declares-more':
      return Buffer.concat([Buffer.from(head(`content-length: ${png.length + n + 1}\r\n`)), png]);
    case 'garbage':
      return Buffer.from(Array.from({ length: 1 + (n % 400) }, (_, i) => (n * 31 + i * 17) % 256));
    default:
      return Buffer.from(RAW_REQUESTS[kind] ?? '', 'latin1');
  }
}

/** Writes `request` on a fresh connection, ends its side, and reads every answer until the server closes it. */
function sendRaw(port: number, request: Buffer): Promise<Answer[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? undefined : reject(err)));
    socket.on('close', () => {
      try {
        resolve(parseAnswers(Buffer.concat(chunks)));
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error('the gateway neither answered nor closed within 10 s')));
    socket.end(request);
  });
}

/** HTTP/1.1 answers with a content-length, one after the other. */
function parseAnswers(bytes: Buffer): Answer[] {
  const answers: Answer[] = [];
  let rest = bytes;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) throw new Error(`an incomplete answer: ${JSON.stringify(rest.toString('latin1').slice(0, 200))}`);
    const [statusLine = '', ...lines] = rest.subarray(0, end).toString('latin1').split('\r\n');
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1];
    if (status === undefined) throw new Error(`not an HTTP answer: ${JSON.stringify(statusLine)}`);
    const headers = new Map(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
    const length = Number(headers.get('content-length') ?? '0');
    answers.push({ status: Number(status), contentType: headers.get('content-type') ?? null, body: rest.subarray(end + 4, end + 4 + length).toString('utf8') });
    rest = rest.subarray(end + 4 + length);
  }
  return answers;
}
