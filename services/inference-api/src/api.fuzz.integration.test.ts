/**
 * Property-based malformed requests against the real API (its own port, the draem-random model,
 * auth on): random methods, paths, queries (model references that climb, unicode, huge values),
 * headers (content types, content-length lies, authorization garbage) and bodies (truncated PNGs,
 * random bytes, multipart garbage), written raw on a socket so nothing is tidied by a client.
 * Properties, for every request: the answer's status is one the API documents and never a 5xx,
 * every refusal is problem+json with a code, and the server answers the next request; for the run:
 * no log line holds the token.
 */
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newToken } from '@loomwatch/http';
import { createLogger } from '@loomwatch/observability';
import { ApiConfig } from './config.js';
import { startApiService, type ApiService } from './service.js';

const MODEL = 'draem-random@0.0.1';
const TOKEN = newToken();
const MAX_BODY = 64 * 1024;
/** How long a request whose declared body never comes is given before the client gives up. */
const LIE_PATIENCE_MS = 300;
/** Statuses of the HTTP layer on any route (beside those the document lists per operation). */
const LAYER_STATUSES = [400, 404, 405, 408, 413, 414, 415, 429, 431];

const logLines: string[] = [];
const logSink = new Writable({ write: (chunk: Buffer, _encoding, done) => (logLines.push(chunk.toString()), done()) });
let service: ApiService;
let documented: Set<number>;
/** A small grey PNG the model takes (one tile) and the id of its result; a PNG smaller than a tile and a colour one. */
let png: Buffer;
let tinyPng: Buffer;
let colourPng: Buffer;
let resultId: string;

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Writes `head` and `body` on a new connection; the first answer, or undefined after `patienceMs`. */
function rawRequest(head: string, body: Buffer, patienceMs: number): Promise<Answer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect(service.port, '127.0.0.1', () => socket.write(Buffer.concat([Buffer.from(head, 'latin1'), body])));
    const timer = setTimeout(() => socket.destroy(), patienceMs);
    const settle = (): void => {
      clearTimeout(timer);
      resolve(parseAnswer(Buffer.concat(chunks)));
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const answer = parseAnswer(Buffer.concat(chunks), true);
      if (answer !== undefined) {
        socket.destroy();
        clearTimeout(timer);
        resolve(answer);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', settle);
  });
}

/** The first final HTTP/1.1 answer in `bytes` (past any `100 Continue`); with `complete`, only once its whole body is there. */
function parseAnswer(bytes: Buffer, complete = false): Answer | undefined {
  const end = bytes.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  if (bytes.subarray(0, end).toString('latin1').startsWith('HTTP/1.1 1')) return parseAnswer(bytes.subarray(end + 4), complete);
  const [statusLine = '', ...fields] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1] ?? Number.NaN);
  const headers: Record<string, string> = {};
  for (const field of fields) {
    const colon = field.indexOf(':');
    headers[field.slice(0, colon).trim().toLowerCase()] = field.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  const body = bytes.subarray(end + 4, end + 4 + length);
  if (complete && body.length < length) return undefined;
  return { status, headers, body };
}

const isHead = (method: string): boolean => method === 'HEAD';

beforeAll(async () => {
  const config = ApiConfig.parse({
    model: MODEL,
    api: { port: 0, token: TOKEN, maxInFlight: 1, maxQueued: 1 },
    http: { maxBodyBytes: MAX_BODY },
    ops: { port: 0 },
  });
  service = await startApiService(config, createLogger({ service: 'inference-api-fuzz', level: 'trace' }, logSink));
  const base = `http://127.0.0.1:${service.port}`;
  const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
  documented = new Set([...LAYER_STATUSES, ...Object.values(doc.paths).flatMap((operations) => Object.values(operations).flatMap((operation) => Object.keys(operation.responses).map(Number)))]);
  png = await sharp({ create: { width: 256, height: 256, channels: 3, background: { r: 90, g: 90, b: 90 } } })
    .toColourspace('b-w')
    .png()
    .toBuffer();
  tinyPng = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 90, g: 90, b: 90 } } })
    .toColourspace('b-w')
    .png()
    .toBuffer();
  colourPng = await sharp({ create: { width: 256, height: 256, channels: 3, background: { r: 200, g: 90, b: 30 } } })
    .png()
    .toBuffer();
  const decided = await fetch(`${base}/v1/infer`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'image/png' }, body: png });
  expect(decided.status).toBe(200);
  resultId = ((await decided.json()) as { id: string }).id;
});

afterAll(async () => {
  await service?.stop();
});

describe('the inference API under malformed requests', () => {
  it('answers every one with a documented status, never a 5xx, problem+json for each refusal, keeps answering, and never logs the token', { timeout: 120_000 }, async () => {
    const method = fc.oneof(
      { weight: 12, arbitrary: fc.constant('POST') },
      { weight: 3, arbitrary: fc.constantFrom('GET', 'HEAD') },
      { weight: 2, arbitrary: fc.constantFrom('PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND') },
      { weight: 1, arbitrary: fc.oneof(fc.constantFrom('post', 'G ET', 'FOO', ''), fc.string({ unit: 'binary-ascii', maxLength: 6 })) },
    );
    const path = fc.oneof(
      { weight: 14, arbitrary: fc.constant('/v1/infer') },
      { weight: 4, arbitrary: fc.constantFrom('/openapi.json', `/v1/results/${randomUUID()}/anomaly-map.png`, `/v1/results/${randomUUID()}/overlay.jpg`, 'RESULT') },
      {
        weight: 3,
        arbitrary: fc.constantFrom(
          '/',
          '*',
          '/v1',
          '/v1/infer/',
          '/V1/INFER',
          '//v1/infer',
          '/v1/results/../infer',
          '/v1/%2e%2e/infer',
          '/v1/results/%zz/overlay.jpg',
          '/%',
          `/v1/results/${'a'.repeat(300)}/overlay.jpg`,
          `/v1/${TOKEN}`,
          '/v1/results//overlay.jpg',
          '/openapi.json/',
        ),
      },
      { weight: 1, arbitrary: fc.array(fc.oneof(fc.webSegment(), fc.string({ unit: 'grapheme', maxLength: 6 }).map(encodeURIComponent), fc.string({ unit: 'binary-ascii', maxLength: 6 })), { maxLength: 4 }).map((segments) => `/${segments.join('/')}`) },
    );
    const modelRef = fc.oneof(
      fc.constantFrom('..', '../..', '..%2F..%2Fetc%2Fpasswd', '%2e%2e', 'draem-random@..', 'draem-random', MODEL, 'no-such-model@9.9.9', '.', '%00', '%', 'a'.repeat(3000), 'a'.repeat(20_000), TOKEN),
      fc.string({ unit: 'grapheme', maxLength: 12 }).map(encodeURIComponent),
      fc.string({ unit: 'binary', maxLength: 12 }).map((value) => encodeURIComponent(value.replace(/[\uD800-\uDFFF]/g, ''))),
    );
    const parameter = fc.oneof(
      { weight: 4, arbitrary: modelRef.map((value) => `model=${value}`) },
      { weight: 2, arbitrary: fc.constantFrom('fabric=05', 'fabric=', 'fabric=denim%20blue', `fabric=${'x'.repeat(40)}`, 'fabricCode=05', 'falseAlarmRate=0.02', 'falseAlarmRate=0.5', 'falseAlarmRate=NaN', 'constructor=1', '__proto__=x', '=', '&&', 'model') },
      { weight: 1, arbitrary: fc.tuple(fc.webSegment(), fc.webSegment()).map(([name, value]) => `${name}=${value}`) },
    );
    const query = fc.oneof(
      { weight: 1, arbitrary: fc.constant('') },
      { weight: 2, arbitrary: fc.array(parameter, { minLength: 1, maxLength: 3 }).map((parameters) => `?${parameters.join('&')}`) },
    );
    const authorization = fc.oneof(
      { weight: 8, arbitrary: fc.constant(`Bearer ${TOKEN}`) },
      { weight: 1, arbitrary: fc.constant(undefined) },
      { weight: 2, arbitrary: fc.constantFrom(`Bearer ${TOKEN}x`, `bearer  ${TOKEN}`, `Basic ${TOKEN}`, TOKEN, 'Bearer', 'Bearer ', `Bearer ${TOKEN} ${TOKEN}`, `Bearer ${newToken()}`) },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 40 }) },
    );
    const contentType = fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom('image/png', 'image/jpeg', 'multipart/form-data; boundary=lw', 'IMAGE/PNG; charset=binary') },
      { weight: 2, arbitrary: fc.constantFrom(undefined, 'application/json', 'text/plain', '', 'multipart/form-data', 'image/gif', 'multipart/form-data; boundary=') },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 30 }) },
    );
    const multipart = (part: Buffer, partType: string, name = 'image'): Buffer =>
      Buffer.concat([Buffer.from(`--lw\r\ncontent-disposition: form-data; name="${name}"; filename="f.png"\r\ncontent-type: ${partType}\r\n\r\n`), part, Buffer.from('\r\n--lw--\r\n')]);
    const body = fc.oneof(
      { weight: 3, arbitrary: fc.nat().map((cut) => png.subarray(0, cut % png.length)) },
      { weight: 2, arbitrary: fc.uint8Array({ maxLength: 2048 }).map((bytes) => Buffer.from(bytes)) },
      { weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) },
      { weight: 2, arbitrary: fc.constantFrom(png, tinyPng, colourPng) },
      { weight: 1, arbitrary: fc.integer({ min: MAX_BODY + 1, max: MAX_BODY + 4096 }).map((size) => Buffer.alloc(size, 7)) },
      { weight: 2, arbitrary: fc.tuple(fc.nat(), fc.constantFrom('image/png', 'image/gif', 'text/plain', ''), fc.constantFrom('image', 'picture')).map(([cut, type, name]) => multipart(png.subarray(0, cut % (png.length + 1)), type, name)) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.concat([Buffer.from('--lw\r\n'), Buffer.from(bytes)])) },
    );
    const length = fc.oneof(
      { weight: 8, arbitrary: fc.constant<'true' | 'omitted' | 'shorter' | 'longer' | 'garbage' | 'chunked'>('true') },
      { weight: 1, arbitrary: fc.constantFrom<'true' | 'omitted' | 'shorter' | 'longer' | 'garbage' | 'chunked'>('omitted', 'shorter', 'longer', 'garbage', 'chunked') },
    );
    const extraHeaders = fc.oneof(
      { weight: 6, arbitrary: fc.constant([]) },
      {
        weight: 1,
        arbitrary: fc.array(
          fc.oneof(
            fc.constantFrom(`x-api-key: ${TOKEN}`, 'expect: 100-continue', 'connection: keep-alive', 'host:', 'content-encoding: gzip', 'transfer-encoding: gzip', `cookie: session=${TOKEN}`),
            fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/), fc.string({ unit: 'grapheme-ascii', maxLength: 20 })).map(([name, value]) => `x-${name}: ${value}`),
            fc.tuple(fc.string({ unit: 'binary-ascii', maxLength: 8 }), fc.string({ unit: 'binary-ascii', maxLength: 8 })).map(([name, value]) => `${name}: ${value}`),
          ),
          { minLength: 1, maxLength: 2 },
        ),
      },
    );

    let carriedToken = 0;
    /** The codes the run was refused with, so it shows it reached each check. */
    const codes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(method, path, query, authorization, contentType, body, length, extraHeaders, async (verb, target, search, auth, type, payload, lie, extra) => {
        const url = (target === 'RESULT' ? `/v1/results/${resultId}/anomaly-map.png` : target) + search;
        const declared = lie === 'shorter' ? Math.max(0, payload.length - 1) : lie === 'longer' ? payload.length + 100 : payload.length;
        const lines = [`${verb} ${url} HTTP/1.1`, 'host: 127.0.0.1', 'connection: close', ...extra];
        if (auth !== undefined) lines.push(`authorization: ${auth}`);
        if (type !== undefined) lines.push(`content-type: ${type}`);
        if (lie === 'garbage') lines.push('content-length: 12abc');
        else if (lie === 'chunked') lines.push('transfer-encoding: chunked');
        else if (lie !== 'omitted') lines.push(`content-length: ${declared}`);
        const head = `${lines.join('\r\n')}\r\n\r\n`;
        if (head.includes(TOKEN) || payload.includes(TOKEN)) carriedToken++;

        const answer = await rawRequest(head, payload, lie === 'longer' ? LIE_PATIENCE_MS : 15_000);
        // A body that never comes in full is waited for (up to http.requestTimeoutMs): no answer yet is right.
        if (lie !== 'longer') {
          expect(answer, head).toBeDefined();
        }
        if (answer !== undefined) {
          expect(answer.status, head).toBeLessThan(500);
          expect(documented.has(answer.status) || answer.status === 200, `${answer.status} for ${head}`).toBe(true);
          if (answer.status >= 300) {
            expect(answer.headers['content-type'], head).toMatch(/^application\/problem\+json/);
            if (!isHead(verb)) {
              const problem = JSON.parse(answer.body.toString('utf8')) as { status: number; code: string };
              expect(problem.status, head).toBe(answer.status);
              expect(problem.code, head).toMatch(/^[A-Z][A-Z_]+$/);
              codes.add(problem.code);
            }
          } else {
            // Only what the document lists answers 200.
            expect(`${verb === 'HEAD' ? 'GET' : verb} ${target.startsWith('/v1/results/') || target === 'RESULT' ? '/v1/results' : target}`, head).toMatch(/^(GET \/openapi\.json|POST \/v1\/infer|GET \/v1\/results)$/);
          }
        }
        // The server answers the next request.
        const next = await fetch(`http://127.0.0.1:${service.port}/openapi.json`);
        expect(next.status).toBe(200);
        await next.arrayBuffer();
      }),
      { numRuns: 300 },
    );
    // The run reached every check, the image decoder among them, and carried the token to the server often.
    expect([...codes]).toEqual(expect.arrayContaining(['BAD_REQUEST', 'ROUTE_NOT_FOUND', 'METHOD_NOT_ALLOWED', 'UNAUTHORIZED', 'QUERY_INVALID', 'IMAGE_UNSUPPORTED_FORMAT']));
    expect([...codes].filter((code) => ['IMAGE_CORRUPT', 'IMAGE_TOO_SMALL', 'IMAGE_CHANNELS_UNSUPPORTED', 'IMAGE_EMPTY'].includes(code))).not.toEqual([]);
    expect(carriedToken).toBeGreaterThan(100);
    expect(logLines.length).toBeGreaterThan(0);
    for (const line of logLines) expect(line).not.toContain(TOKEN);
  });
});
