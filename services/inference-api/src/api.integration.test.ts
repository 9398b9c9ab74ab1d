import { request as httpRequest, type ClientRequest } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { EngineDecider, InferenceEngine, type Decision } from '@loomwatch/inference';
import { overlayRecipe, withOverlayRecipe } from '@loomwatch/overlay';
import { resolveModel } from '@loomwatch/model-registry';
import { copyRandomModel } from '@loomwatch/model-registry/fixtures';
import { createLogger } from '@loomwatch/observability';
import { useTestS3 } from '@loomwatch/storage/testing';
import { aitexFrames } from '@loomwatch/testkit';
import { ApiConfig } from './config.js';
import { Problem } from './problem.js';
import { startApiService, type ApiService } from './service.js';
import { InferenceVerdict } from './verdict.js';

const MODEL = 'draem-random@0.0.1';
const TOKEN = 'integration-test-token-0123456789';
const frames = aitexFrames();
const frame = frames.find((f) => f.defectCode !== '000') ?? frames[0];
if (frame === undefined) throw new Error('no AITEX frames: set AITEX_DIR');
const frameBytes = readFileSync(frame.path);
// Bigger than a frame, so a frame passes and a body one byte over the limit is refused.
const MAX_BODY = frameBytes.length * 2;
// Twice the frame's pixels: the frame passes, an image four times its height does not.
const { width: FRAME_WIDTH = 0, height: FRAME_HEIGHT = 0 } = await sharp(frameBytes).metadata();
const MAX_PIXELS = FRAME_WIDTH * FRAME_HEIGHT * 2;

const s3 = useTestS3();
let service: ApiService;
let base: string;
let resultsBucket: string;
let framesBucket: string;
/** The frame decided by a decider that renders overlays per frame: the image every on-request render must equal. */
let perFrame: Decision;
let doc: { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>>; components: Record<string, unknown> };
/** Validators of the document's own component schemas, for the bodies the server sends. */
let documentSchema: (name: 'InferenceVerdict' | 'Problem') => ValidateFunction;
const auth = { authorization: `Bearer ${TOKEN}` };

/** Asserts the answer is one the OpenAPI document lists for this path and method. */
function documented(path: string, method: string, status: number): void {
  expect(Object.keys(doc.paths[path]?.[method]?.responses ?? {}), `${method.toUpperCase()} ${path} → ${status}`).toContain(String(status));
}

async function problemOf(res: Response): Promise<Problem> {
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json(;|$)/);
  const body: unknown = await res.json();
  matchesDocument('Problem', body);
  const problem = Problem.parse(body);
  expect(problem.status).toBe(res.status);
  return problem;
}

const infer = (body: Uint8Array, headers: Record<string, string>, query = ''): Promise<Response> =>
  fetch(`${base}/v1/infer${query}`, { method: 'POST', headers, body });

beforeAll(async () => {
  resultsBucket = await s3.bucket('results');
  framesBucket = await s3.bucket('frames');
  const decider = await EngineDecider.load({ model: MODEL, overlays: 'per-frame', limitInputPixels: MAX_PIXELS });
  perFrame = await decider.decide(frameBytes).finally(() => decider.close());
  const config = ApiConfig.parse({
    model: MODEL,
    s3: s3.infra.s3,
    api: { port: 0, maxInFlight: 1, maxQueued: 0, retryAfterSeconds: 2, token: TOKEN, streamOverlays: { buckets: [resultsBucket], frameBuckets: [framesBucket] } },
    http: { maxBodyBytes: MAX_BODY },
    inference: { limitInputPixels: MAX_PIXELS },
    ops: { port: 0 },
  });
  service = await startApiService(config, createLogger({ service: 'inference-api-test', level: 'silent' }));
  base = `http://127.0.0.1:${service.port}`;
  const res = await fetch(`${base}/openapi.json`);
  expect(res.status).toBe(200);
  doc = (await res.json()) as typeof doc;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ $id: 'openapi.json', components: doc.components });
  documentSchema = (name) => {
    const validate = ajv.getSchema(`openapi.json#/components/schemas/${name}`);
    if (validate === undefined) throw new Error(`the document has no components.schemas.${name}`);
    return validate;
  };
});

/** Asserts a body matches the document's schema of it (the JSON Schema served, not the zod one). */
function matchesDocument(name: 'InferenceVerdict' | 'Problem', body: unknown): void {
  const validate = documentSchema(name);
  expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
}

afterAll(async () => {
  await service?.stop();
});


/** The status and text body a raw request gets back (for requests the test writes by hand). */
function answerOf(req: ClientRequest): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}
describe('the inference API on draem-random', () => {
  it('serves an OpenAPI 3.1 document listing every route', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(['/openapi.json', '/v1/infer', '/v1/overlays/{bucket}/{key}', '/v1/results/{id}/anomaly-map.png', '/v1/results/{id}/overlay.jpg']);
  });

  it('decides an AITEX frame as the engine does and links its map and overlay at the frame size', async () => {
    const engine = await InferenceEngine.load({ model: MODEL });
    const direct = await engine.infer(frameBytes);
    await engine.close();

    const res = await infer(frameBytes, { ...auth, 'content-type': 'image/png' });
    expect(res.status).toBe(200);
    documented('/v1/infer', 'post', 200);
    const body: unknown = await res.json();
    matchesDocument('InferenceVerdict', body);
    const verdict = InferenceVerdict.parse(body);
    const { links: _links, ...withoutLinks } = verdict;
    expect(documentSchema('InferenceVerdict')(withoutLinks)).toBe(false);
    expect(verdict.model).toMatchObject({ name: 'draem-random', version: '0.0.1' });
    expect(verdict.score).toBeCloseTo(direct.score, 6);
    expect(verdict.verdict).toBe(direct.verdict);
    expect(verdict.regions).toHaveLength(direct.regions.length);
    expect([verdict.width, verdict.height]).toEqual([direct.width, direct.height]);

    const map = await fetch(`${base}${verdict.links.anomalyMap}`, { headers: auth });
    expect(map.status).toBe(200);
    expect(map.headers.get('content-type')).toBe('image/png');
    const mapMeta = await sharp(Buffer.from(await map.arrayBuffer())).metadata();
    expect([mapMeta.format, mapMeta.width, mapMeta.height]).toEqual(['png', direct.width, direct.height]);

    const overlay = await fetch(`${base}${verdict.links.overlay}`, { headers: auth });
    expect(overlay.status).toBe(200);
    expect(overlay.headers.get('content-type')).toBe('image/jpeg');
    const overlayBytes = Buffer.from(await overlay.arrayBuffer());
    const overlayMeta = await sharp(overlayBytes).metadata();
    expect([overlayMeta.format, overlayMeta.width, overlayMeta.height]).toEqual(['jpeg', direct.width, direct.height]);
    // Rendered on this first request: the image a per-frame render gives, and the same on the next request.
    expect(overlayBytes.equals(perFrame.overlay?.body ?? Buffer.alloc(0))).toBe(true);
    const again = await fetch(`${base}${verdict.links.overlay}`, { headers: auth });
    expect(Buffer.from(await again.arrayBuffer()).equals(overlayBytes)).toBe(true);
  });

  it("serves a stream verdict's overlay by its bucket and key, rendering and storing it on the first request", async () => {
    const frameRef = { bucket: framesBucket, key: 'frames/line-1/cam-1/f1.png' };
    const base_ = 'draem-random/0.0.1/line-1/cam-1/f1';
    const mapRef = { bucket: resultsBucket, key: `maps/${base_}.png` };
    const overlayRef = { bucket: resultsBucket, key: `overlays/${base_}.jpg` };
    const recipe = overlayRecipe(perFrame.overlayStyle, { ...frameRef, sha256: createHash('sha256').update(frameBytes).digest('hex') }, perFrame.regions);
    await s3.store.put(frameRef, frameBytes, 'image/png');
    await s3.store.put(mapRef, withOverlayRecipe(perFrame.anomalyMapPng, recipe), 'image/png');
    const url = (ref: { bucket: string; key: string }) => `${base}/v1/overlays/${ref.bucket}/${ref.key}`;

    expect((await fetch(url(overlayRef))).status).toBe(401);
    expect(await s3.store.head(overlayRef)).toBeUndefined();
    const first = await fetch(url(overlayRef), { headers: auth });
    expect(first.status).toBe(200);
    documented('/v1/overlays/{bucket}/{key}', 'get', 200);
    expect(first.headers.get('content-type')).toBe('image/jpeg');
    const served = Buffer.from(await first.arrayBuffer());
    expect(served.equals(perFrame.overlay?.body ?? Buffer.alloc(0))).toBe(true);
    expect((await s3.store.get(overlayRef)).equals(served)).toBe(true);
    const cached = await fetch(url(overlayRef), { headers: auth });
    expect(Buffer.from(await cached.arrayBuffer()).equals(served)).toBe(true);

    const refusals: [{ bucket: string; key: string }, number, string][] = [
      [{ bucket: 'another-bucket', key: overlayRef.key }, 403, 'OBJECT_NOT_ALLOWED'],
      [{ bucket: resultsBucket, key: 'overlays/draem-random/0.0.1/line-1/cam-1/none.jpg' }, 404, 'OVERLAY_MAP_MISSING'],
      [{ bucket: resultsBucket, key: mapRef.key }, 404, 'OVERLAY_KEY_INVALID'],
    ];
    for (const [ref, status, code] of refusals) {
      const res = await fetch(url(ref), { headers: auth });
      expect(res.status, ref.key).toBe(status);
      documented('/v1/overlays/{bucket}/{key}', 'get', status);
      expect((await problemOf(res)).code).toBe(code);
    }
  });

  it('takes the image as the "image" part of a multipart form and decides it as the raw body', async () => {
    const form = new FormData();
    form.append('image', new Blob([frameBytes], { type: 'image/png' }), `${frame.name}.png`);
    const [multipart, raw] = [await fetch(`${base}/v1/infer`, { method: 'POST', headers: auth, body: form }), await infer(frameBytes, { ...auth, 'content-type': 'image/png' })];
    expect([multipart.status, raw.status]).toEqual([200, 200]);
    const [fromForm, fromBody] = [InferenceVerdict.parse(await multipart.json()), InferenceVerdict.parse(await raw.json())];
    expect(fromForm.score).toBe(fromBody.score);
    expect(fromForm.regions).toEqual(fromBody.regions);
  });

  it('refuses a colour image with 422 IMAGE_CHANNELS_UNSUPPORTED and a body that is no image with 415 IMAGE_UNSUPPORTED_FORMAT', async () => {
    const rgb = await sharp(frameBytes).tint({ r: 200, g: 120, b: 40 }).png().toBuffer();
    expect((await sharp(rgb).metadata()).channels).toBe(3);
    const garbage = Buffer.from('this is not a picture of fabric');
    for (const [body, status, code] of [
      [rgb, 422, 'IMAGE_CHANNELS_UNSUPPORTED'],
      [garbage, 415, 'IMAGE_UNSUPPORTED_FORMAT'],
    ] as const) {
      const res = await infer(body, { ...auth, 'content-type': 'image/png' });
      expect(res.status, code).toBe(status);
      expect((await problemOf(res)).code).toBe(code);
      documented('/v1/infer', 'post', status);
    }
  });

  it('answers a body of another content type with 415', async () => {
    const res = await infer(Buffer.from('{"image":"no"}'), { ...auth, 'content-type': 'application/json' });
    expect(res.status).toBe(415);
    expect((await problemOf(res)).code).toBe('IMAGE_UNSUPPORTED_FORMAT');
    documented('/v1/infer', 'post', 415);
  });

  it('refuses a body over the limit with 413 IMAGE_TOO_LARGE', async () => {
    const res = await infer(Buffer.alloc(MAX_BODY + 1), { ...auth, 'content-type': 'image/png' });
    expect(res.status).toBe(413);
    expect((await problemOf(res)).code).toBe('IMAGE_TOO_LARGE');
    documented('/v1/infer', 'post', 413);
  });

  it('refuses a chunked body with 413 as soon as it passes the limit', async () => {
    // No content-length: the limit is found while reading, and the rest is not buffered.
    const req = httpRequest(`${base}/v1/infer`, { method: 'POST', headers: { ...auth, 'content-type': 'image/png', 'transfer-encoding': 'chunked' } });
    const answer = answerOf(req);
    const chunk = Buffer.alloc(64 * 1024);
    for (let sent = 0; sent <= MAX_BODY; sent += chunk.length) req.write(chunk);
    req.end();
    const { status, body } = await answer;
    expect(status).toBe(413);
    expect(Problem.parse(JSON.parse(body)).code).toBe('IMAGE_TOO_LARGE');
  });

  it('refuses an image with more pixels than inference.limitInputPixels with 413, before decoding it', async () => {
    const tall = await sharp({ create: { width: FRAME_WIDTH, height: FRAME_HEIGHT * 4, channels: 3, background: { r: 128, g: 128, b: 128 } } }).toColourspace('b-w').png().toBuffer();
    expect([tall.length < MAX_BODY, (await sharp(tall).metadata()).channels]).toEqual([true, 1]);
    const res = await infer(tall, { ...auth, 'content-type': 'image/png' });
    expect(res.status).toBe(413);
    expect((await problemOf(res)).code).toBe('IMAGE_TOO_LARGE');
  });

  it('refuses a missing or wrong bearer token with 401 on every /v1 route, before reading the body, and serves the document without one', async () => {
    const answered = await fetch(`http://127.0.0.1:${service.opsPort}/metrics`).then((res) => res.text());
    const decided = (text: string): string | undefined => /^loomwatch_api_decide_seconds_count(?:\{[^}]*\})? (\d+)$/m.exec(text)?.[1];
    for (const headers of [{}, { authorization: `Bearer ${TOKEN}-wrong` }, { authorization: `Basic ${TOKEN}` }, { authorization: TOKEN }]) {
      for (const res of [
        await infer(frameBytes, { ...headers, 'content-type': 'image/png' }),
        await fetch(`${base}/v1/results/00000000-0000-4000-8000-000000000000/anomaly-map.png`, { headers }),
        await fetch(`${base}/v1/results/00000000-0000-4000-8000-000000000000/overlay.jpg`, { headers }),
      ]) {
        expect(res.status, res.url).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer realm="loomwatch"');
        expect((await problemOf(res)).code).toBe('UNAUTHORIZED');
      }
    }
    documented('/v1/infer', 'post', 401);
    documented('/v1/results/{id}/overlay.jpg', 'get', 401);
    expect(decided(await fetch(`http://127.0.0.1:${service.opsPort}/metrics`).then((res) => res.text()))).toBe(decided(answered));
    expect((await fetch(`${base}/openapi.json`)).status).toBe(200);
  });

  it('declares the bearer scheme for every /v1 route and none for the document', () => {
    const full = doc as unknown as { security: unknown; components: { securitySchemes: Record<string, unknown> }; paths: Record<string, Record<string, { security?: unknown }>> };
    expect(full.security).toEqual([{ bearer: [] }]);
    expect(full.components.securitySchemes['bearer']).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(full.paths['/openapi.json']?.['get']?.security).toEqual([]);
  });

  it('answers an unknown model with the registry code, an unknown result with 404 and a wrong method with 405', async () => {
    const unknownModel = await infer(frameBytes, { ...auth, 'content-type': 'image/png' }, '?model=no-such-model@9.9.9');
    expect(unknownModel.status).toBe(404);
    expect((await problemOf(unknownModel)).code).toBe('MODEL_NOT_FOUND');
    documented('/v1/infer', 'post', 404);

    const expired = await fetch(`${base}/v1/results/00000000-0000-4000-8000-000000000000/overlay.jpg`, { headers: auth });
    expect(expired.status).toBe(404);
    expect((await problemOf(expired)).code).toBe('RESULT_NOT_FOUND');
    documented('/v1/results/{id}/overlay.jpg', 'get', 404);

    const wrongMethod = await fetch(`${base}/v1/infer`, { headers: auth });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    expect((await problemOf(wrongMethod)).code).toBe('METHOD_NOT_ALLOWED');
    const deleteDocument = await fetch(`${base}/openapi.json`, { method: 'DELETE' });
    expect([deleteDocument.status, deleteDocument.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    await problemOf(deleteDocument);

    const nowhere = await fetch(`${base}/v1/nowhere`, { headers: auth });
    expect(nowhere.status).toBe(404);
    expect((await problemOf(nowhere)).code).toBe('ROUTE_NOT_FOUND');
  });

  it('takes no slot for a request whose body is still coming: another is decided meanwhile', async () => {
    const req = httpRequest(`${base}/v1/infer`, { method: 'POST', headers: { ...auth, 'content-type': 'image/png', 'content-length': String(frameBytes.length) } });
    const slow = answerOf(req);
    req.write(frameBytes.subarray(0, 1024));
    // The one slot is free while the first body is incomplete: the second request is decided, not refused.
    const meanwhile = await infer(frameBytes, { ...auth, 'content-type': 'image/png' });
    expect(meanwhile.status).toBe(200);
    req.end(frameBytes.subarray(1024));
    const done = await slow;
    expect(done.status).toBe(200);
    InferenceVerdict.parse(JSON.parse(done.body));
  });

  it('answers 429 with Retry-After while the one slot is taken and no queue is allowed', async () => {
    const first = infer(frameBytes, { ...auth, 'content-type': 'image/png' });
    await waitForInFlight(1);
    const second = await infer(frameBytes, { ...auth, 'content-type': 'image/png' });
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('2');
    expect((await problemOf(second)).code).toBe('SATURATED');
    documented('/v1/infer', 'post', 429);
    const done = await first;
    expect(done.status).toBe(200);
    InferenceVerdict.parse(await done.json());
  });

  it('is ready and counts its answers on the ops port', async () => {
    const ready = await fetch(`http://127.0.0.1:${service.opsPort}/readyz`);
    expect(ready.status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${service.opsPort}/metrics`)).text();
    expect(metrics).toMatch(/loomwatch_api_requests_total\{[^}]*route="infer"[^}]*status="200"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/loomwatch_api_saturated_total\{[^}]*\} [1-9]/);
  });
});

describe('the inference API on a model calibrated per fabric, with operating points', () => {
  /** A threshold per false-alarm rate, as the model pipeline writes them (`imageThreshold` is the 0.05 point). */
  const grid = (points: readonly [number, number][]) => ({
    frames: 100,
    source: 'test normals',
    points: points.map(([falseAlarmRate, imageThreshold]) => ({ falseAlarmRate, imageThreshold, observed: { falseAlarms: Math.round(falseAlarmRate * 100), frames: 100, low: 0, high: 0.3 } })),
  });
  /** Fabric 05's own thresholds, far from the pooled ones, so an answer shows which applied. */
  const FABRIC_05 = { imageThreshold: 0.0625, pixelThreshold: 0.05, normalization: { min: 0.01, max: 0.5 }, operatingPoints: grid([[0.01, 0.1], [0.05, 0.0625], [0.1, 0.05]]) };
  let registry: ReturnType<typeof copyRandomModel>;
  let calibrated: ApiService;
  let pooledThreshold: number;

  beforeAll(async () => {
    registry = copyRandomModel({
      patchCard: (card) => {
        const postprocess = card['postprocess'] as { imageThreshold: number; fabrics?: unknown; operatingPoints?: unknown };
        pooledThreshold = postprocess.imageThreshold;
        postprocess.operatingPoints = grid([[0.01, 0.9], [0.05, pooledThreshold], [0.2, 0.3]]);
        postprocess.fabrics = { '05': FABRIC_05 };
      },
    });
    // Auth off (`api.auth: none`, as on a developer machine): these requests carry no token.
    const config = ApiConfig.parse({ model: MODEL, api: { port: 0, auth: 'none' }, inference: { registryRoot: registry.root }, ops: { port: 0 } });
    calibrated = await startApiService(config, createLogger({ service: 'inference-api-test', level: 'silent' }));
  });

  afterAll(async () => {
    await calibrated?.stop();
    registry?.cleanup();
  });

  const ask = async (query: string): Promise<InferenceVerdict> => {
    const res = await fetch(`http://127.0.0.1:${calibrated.port}/v1/infer${query}`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: frameBytes });
    expect(res.status, query).toBe(200);
    const body: unknown = await res.json();
    matchesDocument('InferenceVerdict', body);
    return InferenceVerdict.parse(body);
  };

  it("judges an image by its fabric's threshold at the card's 5 % when the card has one, and says so", async () => {
    const verdict = await ask('?fabric=05');
    expect(verdict).toMatchObject({ fabricCode: '05', calibratedFabric: '05', threshold: FABRIC_05.imageThreshold, falseAlarmRate: 0.05 });
    expect(verdict.verdict).toBe(verdict.score >= FABRIC_05.imageThreshold ? 'defect' : 'ok');
  });

  it('judges an image of a fabric the card does not know, or of none, by the pooled threshold, without calibratedFabric', async () => {
    const [unknown, none] = [await ask('?fabric=99'), await ask('')];
    expect(unknown).toMatchObject({ fabricCode: '99', threshold: pooledThreshold, falseAlarmRate: 0.05 });
    expect(none).toMatchObject({ threshold: pooledThreshold, falseAlarmRate: 0.05 });
    for (const verdict of [unknown, none]) expect(verdict.calibratedFabric).toBeUndefined();
    expect(none.fabricCode).toBeUndefined();
    expect(unknown.score).toBe(none.score);
  });

  it('judges an image at the false-alarm rate asked for, and answers the rate that applied: the grid\'s end outside it', async () => {
    expect(await ask('?fabric=05&falseAlarmRate=0.01')).toMatchObject({ calibratedFabric: '05', threshold: 0.1, falseAlarmRate: 0.01 });
    expect(await ask('?falseAlarmRate=0.2')).toMatchObject({ threshold: 0.3, falseAlarmRate: 0.2 });
    // Between two points: between their thresholds, at the rate asked for.
    const between = await ask('?falseAlarmRate=0.02');
    expect(between.falseAlarmRate).toBe(0.02);
    expect(between.threshold).toBeGreaterThan(pooledThreshold);
    expect(between.threshold).toBeLessThan(0.9);
    // Fabric 05's grid starts at 1 %: 0.1 % gets its 1 % threshold, and the answer says 1 %.
    expect(await ask('?fabric=05&falseAlarmRate=0.001')).toMatchObject({ threshold: 0.1, falseAlarmRate: 0.01 });
  });

  it('refuses a false-alarm rate no deployment could pick with 400 QUERY_INVALID', async () => {
    const res = await fetch(`http://127.0.0.1:${calibrated.port}/v1/infer?falseAlarmRate=0.5`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: frameBytes });
    expect(res.status).toBe(400);
    expect(await problemOf(res)).toMatchObject({ code: 'QUERY_INVALID', detail: expect.stringContaining('falseAlarmRate') as string });
  });

  it('states no false-alarm rate for a model whose card has no operating points, whatever was asked', async () => {
    const res = await infer(frameBytes, { ...auth, 'content-type': 'image/png' }, '?falseAlarmRate=0.02');
    expect(res.status).toBe(200);
    const body: unknown = await res.json();
    matchesDocument('InferenceVerdict', body);
    const plain = InferenceVerdict.parse(body);
    expect(plain.falseAlarmRate).toBeUndefined();
    // draem-random's one threshold (the copy above keeps it as its 5 % point).
    expect(plain.threshold).toBe(pooledThreshold);
  });

  it('refuses a model reference that climbs out of the registry with 400 QUERY_INVALID, before the registry is read', async () => {
    // A card planted one level above the model's versions, which `?model=draem-random@..` once
    // reached (then 500, the card and its path in the answer). The API refuses the reference, and
    // the registry's resolver would too.
    writeFileSync(join(registry.root, 'model.json'), readFileSync(join(registry.dir, 'model.json')));
    await expect(resolveModel('draem-random@..', registry.root)).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    for (const model of ['draem-random@..', '..', '.', '..%2F..%2Fetc%2Fpasswd', '%2e%2e', 'draem-random%40..%2F..', '..%5C..', `${'a'.repeat(5000)}`, '%F0%9F%A7%B5']) {
      const res = await fetch(`http://127.0.0.1:${calibrated.port}/v1/infer?model=${model}`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: frameBytes });
      expect(res.status, model).toBe(400);
      const problem = await problemOf(res);
      expect(problem.code, model).toBe('QUERY_INVALID');
      expect(problem.detail, model).toContain('name or name@version, e.g. draem-aitex or draem-aitex@1.1.0');
      expect(problem.detail, model).not.toContain(registry.root);
    }
  });

  it('refuses a bad fabric code or a misspelt parameter with 400 QUERY_INVALID, as the document says', async () => {
    for (const query of ['?fabric=denim%20blue', '?fabricCode=05']) {
      const res = await fetch(`http://127.0.0.1:${calibrated.port}/v1/infer${query}`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: frameBytes });
      expect(res.status, query).toBe(400);
      expect((await problemOf(res)).code, query).toBe('QUERY_INVALID');
    }
    documented('/v1/infer', 'post', 400);
    const parameters = (doc.paths['/v1/infer']?.['post'] as unknown as { parameters: { name: string; schema: { pattern?: string; maxLength?: number } }[] }).parameters;
    expect(parameters.map((p) => p.name)).toEqual(['model', 'fabric', 'falseAlarmRate']);
    expect(parameters.find((p) => p.name === 'fabric')?.schema).toMatchObject({ maxLength: 32, pattern: '^[A-Za-z0-9._-]+$' });
    expect(parameters.find((p) => p.name === 'falseAlarmRate')?.schema).toEqual({ type: 'number', minimum: 0.001, maximum: 0.2 });
  });

  it('serves a version directory the config names, whose path ?model= cannot name', async () => {
    // Only the operator's config may name a directory (a value with a "/"); the registry it sits
    // in is another, empty one, so nothing but the directory can be what answers.
    const config = ApiConfig.parse({ model: registry.dir, api: { port: 0, auth: 'none' }, inference: { registryRoot: join(registry.root, 'nothing-here') }, ops: { port: 0 } });
    const fromDir = await startApiService(config, createLogger({ service: 'inference-api-test', level: 'silent' }));
    try {
      expect(fromDir.defaultModel).toBe(registry.dir);
      const res = await fetch(`http://127.0.0.1:${fromDir.port}/v1/infer?fabric=05`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: frameBytes });
      expect(res.status).toBe(200);
      expect(InferenceVerdict.parse(await res.json())).toMatchObject({ model: { name: 'draem-random', version: '0.0.1', precision: 'fp32' }, threshold: FABRIC_05.imageThreshold });
      const byPath = await fetch(`http://127.0.0.1:${fromDir.port}/v1/infer?model=${encodeURIComponent(registry.dir)}`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: frameBytes });
      expect(byPath.status).toBe(400);
      expect((await problemOf(byPath)).code).toBe('QUERY_INVALID');
    } finally {
      await fromDir.stop();
    }
  });
});

/** Polls `/metrics` until the API reports `count` images in flight. */
async function waitForInFlight(count: number): Promise<void> {
  await expect
    .poll(async () => /^loomwatch_api_in_flight(?:\{[^}]*\})? (\d+)$/m.exec(await (await fetch(`http://127.0.0.1:${service.opsPort}/metrics`)).text())?.[1], { timeout: 10_000, interval: 20 })
    .toBe(String(count));
}
