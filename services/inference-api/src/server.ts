import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LoomwatchError } from '@loomwatch/contracts';
import type { Decider } from '@loomwatch/frame-pipeline';
import { readImageBody } from '@loomwatch/http';
import type { Logger } from '@loomwatch/observability';
import type { Admission } from './admission.js';
import { isAuthorized } from './auth.js';
import { imageFromMultipart } from './multipart.js';
import type { ApiMetrics } from './metrics.js';
import type { ModelCache } from './models.js';
import { HttpProblem, toProblem } from './problem.js';
import { parseInferQuery } from './query.js';
import type { ResultCache } from './results.js';
import { resultLinks, type InferenceVerdict } from './verdict.js';

export interface InferenceApiOptions {
  /** @defaultValue 8090 */
  port?: number;
  /** @defaultValue '127.0.0.1' */
  host?: string;
  maxBodyBytes: number;
  retryAfterSeconds: number;
  /** Unset: no auth. */
  bearerToken?: string | undefined;
  /** The reference a request without `?model=` runs (`name@version`). */
  defaultModel: string;
  models: ModelCache;
  results: ResultCache;
  admission: Admission;
  /** The OpenAPI document served at `/openapi.json`. */
  openApi: unknown;
  metrics: ApiMetrics;
  logger: Logger;
}

export interface InferenceApi {
  readonly port: number;
  /** Stops accepting, lets requests under way finish, then closes. */
  close(): Promise<void>;
}

/** The content types `POST /v1/infer` takes: the image itself, or a form with an `image` part. */
const BODY_TYPES = new Set(['image/png', 'image/jpeg', 'multipart/form-data']);
const RESULT_PATH = /^\/v1\/results\/([0-9a-f-]{36})\/(anomaly-map\.png|overlay\.jpg)$/;

function sendJson(res: ServerResponse, status: number, body: unknown, contentType = 'application/json', headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'content-type': contentType });
  res.end(JSON.stringify(body));
}

function route(method: string | undefined, path: string): { name: string; allow?: string } {
  if (path === '/v1/infer') return method === 'POST' ? { name: 'infer' } : { name: 'infer', allow: 'POST' };
  if (path === '/openapi.json') return method === 'GET' || method === 'HEAD' ? { name: 'openapi' } : { name: 'openapi', allow: 'GET, HEAD' };
  if (RESULT_PATH.test(path)) return method === 'GET' || method === 'HEAD' ? { name: 'result' } : { name: 'result', allow: 'GET, HEAD' };
  return { name: 'unknown' };
}

/**
 * `POST /v1/infer[?model=name@version][&fabric=code][&falseAlarmRate=0.02]` with a PNG or JPEG body (raw, or the `image` part of a
 * multipart form) → 200 and the verdict; `GET
 * /v1/results/{id}/anomaly-map.png | overlay.jpg`; `GET /openapi.json`. Errors are RFC 9457
 * problem+json with the worker's error codes. At most `admission.maxInFlight` images are decided
 * at once and `maxQueued` wait; past that, 429 with `Retry-After`.
 */
export async function startInferenceApi(options: InferenceApiOptions): Promise<InferenceApi> {
  const { admission, metrics, logger } = options;
  const underWay = new Set<Promise<void>>();

  const infer = async (req: IncomingMessage, url: URL): Promise<InferenceVerdict> => {
    const rawContentType = req.headers['content-type'] ?? '';
    const contentType = rawContentType.split(';')[0]?.trim().toLowerCase() ?? '';
    if (!BODY_TYPES.has(contentType)) {
      throw new LoomwatchError('IMAGE_UNSUPPORTED_FORMAT', `send the image as image/png, image/jpeg or the "image" part of multipart/form-data, not ${contentType === '' ? 'a body without content-type' : contentType}`);
    }
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    if (declared > options.maxBodyBytes) {
      throw new LoomwatchError('IMAGE_TOO_LARGE', `the image body is ${declared} bytes; the limit is ${options.maxBodyBytes}`);
    }
    const query = parseInferQuery(url.searchParams);
    const ref = query.model ?? options.defaultModel;
    const entered = admission.tryEnter();
    if (entered === undefined) {
      metrics.rejected.inc();
      throw new HttpProblem('SATURATED', 429, `${admission.maxInFlight} images are being decided and ${admission.maxQueued} wait: retry later`, {
        'retry-after': String(options.retryAfterSeconds),
      });
    }
    metrics.queued.set(admission.queued);
    const release = await entered;
    metrics.queued.set(admission.queued);
    metrics.inFlight.set(admission.inFlight);
    try {
      const received = await readImageBody(req, options.maxBodyBytes);
      const body = contentType === 'multipart/form-data' ? await imageFromMultipart(received, rawContentType) : received;
      if (body.length === 0) throw new LoomwatchError('IMAGE_EMPTY', 'the request body is empty: send the image bytes');
      const started = performance.now();
      const { decision, model } = await options.models.use(ref, async (decider: Decider) => ({ decision: await decider.decide(body, query.fabric, query.falseAlarmRate), model: decider.model }));
      metrics.inferSeconds.observe((performance.now() - started) / 1000);
      const id = randomUUID();
      options.results.put(id, { anomalyMapPng: decision.anomalyMapPng, overlayJpeg: decision.overlay.body });
      metrics.results.set(options.results.size);
      return {
        id,
        decidedAt: new Date().toISOString(),
        verdict: decision.verdict,
        score: decision.score,
        normalizedScore: decision.normalizedScore,
        threshold: decision.threshold,
        ...(query.fabric === undefined ? {} : { fabricCode: query.fabric }),
        ...(decision.calibratedFabric === undefined ? {} : { calibratedFabric: decision.calibratedFabric }),
        ...(decision.falseAlarmRate === undefined ? {} : { falseAlarmRate: decision.falseAlarmRate }),
        regions: decision.regions,
        model,
        inputStats: decision.inputStats,
        timings: decision.timings,
        width: decision.width,
        height: decision.height,
        links: resultLinks(id),
      };
    } finally {
      release();
      metrics.inFlight.set(admission.inFlight);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<string> => {
    const url = new URL(req.url ?? '/', 'http://api');
    const { name, allow } = route(req.method, url.pathname);
    try {
      if (name === 'unknown') throw new HttpProblem('NOT_FOUND', 404, `no resource at ${url.pathname}: see /openapi.json`);
      if (allow !== undefined) throw new HttpProblem('METHOD_NOT_ALLOWED', 405, `${req.method ?? ''} ${url.pathname}: use ${allow}`, { allow });
      if (name === 'openapi') {
        sendJson(res, 200, options.openApi);
        return name;
      }
      if (!isAuthorized(req.headers.authorization, options.bearerToken)) {
        throw new HttpProblem('UNAUTHORIZED', 401, 'send Authorization: Bearer <token> with the configured token', { 'www-authenticate': 'Bearer realm="loomwatch"' });
      }
      if (name === 'result') {
        const [, id = '', file] = RESULT_PATH.exec(url.pathname) ?? [];
        const stored = options.results.get(id);
        if (stored === undefined) throw new HttpProblem('RESULT_NOT_FOUND', 404, `no result ${id}: it never existed or has expired (only the last results are kept)`);
        const png = file === 'anomaly-map.png';
        const body = png ? stored.anomalyMapPng : stored.overlayJpeg;
        res.writeHead(200, { 'content-type': png ? 'image/png' : 'image/jpeg', 'content-length': String(body.length) });
        res.end(req.method === 'HEAD' ? undefined : body);
        return name;
      }
      sendJson(res, 200, await infer(req, url));
      return name;
    } catch (thrown) {
      const { status, problem, headers } = toProblem(thrown);
      if (status >= 500) logger.error({ err: thrown, code: problem.code }, `request failed: ${problem.detail}`);
      if (!req.complete) {
        // Answer now and close; the unread rest of the body is discarded, for a bounded time.
        res.setHeader('connection', 'close');
        req.resume();
        setTimeout(() => req.destroy(), 5_000).unref();
      }
      sendJson(res, status, problem, 'application/problem+json', headers);
      return name;
    }
  };

  const server = createServer((req, res) => {
    const started = performance.now();
    const handling = handle(req, res).then((name) => {
      metrics.requests.inc({ route: name, status: String(res.statusCode) });
      metrics.requestSeconds.observe({ route: name }, (performance.now() - started) / 1000);
    });
    underWay.add(handling);
    void handling.finally(() => underWay.delete(handling));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8090, options.host ?? '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all(underWay);
      server.closeIdleConnections();
      await closed;
    },
  };
}
