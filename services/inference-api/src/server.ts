import { randomUUID } from 'node:crypto';
import { LoomwatchError } from '@loomwatch/contracts';
import type { Decider } from '@loomwatch/inference';
import { OverlayUnavailableError, overlayLook, renderOverlayFromMap } from '@loomwatch/overlay';
import { acceptRawBodies, createHttpApp, listen, type FastifyInstance, type FastifyReply, type FastifyRequest, type HttpLimits } from '@loomwatch/http';
import type { Logger } from '@loomwatch/observability';
import type { Admission } from './admission.js';
import { requireToken, type ApiAuth } from './auth.js';
import { imageFromMultipart } from './multipart.js';
import type { ApiMetrics } from './metrics.js';
import type { ModelCache } from './models.js';
import { API_PROBLEMS, HttpProblem } from './problem.js';
import { parseInferQuery, type InferQuery } from './query.js';
import type { ResultCache } from './results.js';
import type { StreamOverlays } from './stream-overlays.js';
import { resultLinks, type InferenceVerdict } from './verdict.js';

export interface InferenceApiOptions {
  /** @defaultValue 8090 */
  port?: number;
  /** @defaultValue '127.0.0.1' */
  host?: string;
  /** Timeouts, per-client cap and the largest body (the image). */
  limits: HttpLimits;
  retryAfterSeconds: number;
  auth: ApiAuth;
  /** The reference a request without `?model=` runs (`name@version`). */
  defaultModel: string;
  models: ModelCache;
  results: ResultCache;
  /** `GET /v1/overlays/{bucket}/{key}`: stream verdicts' overlays from S3 (rendered on first request); undefined: the route answers 404. */
  streamOverlays?: StreamOverlays | undefined;
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

const IMAGE_TYPES = ['image/png', 'image/jpeg'];
const MULTIPART = 'multipart/form-data';
const RESULT_ID = /^[0-9a-f-]{36}$/;
/** The status of a stream overlay that cannot be served. */
const STREAM_OVERLAY_STATUS: Record<OverlayUnavailableError['problem'], number> = {
  OVERLAY_KEY_INVALID: 404,
  OVERLAY_MAP_MISSING: 404,
  OVERLAY_FRAME_MISSING: 404,
  OVERLAY_RECIPE_MISSING: 404,
  OVERLAY_FRAME_CHANGED: 409,
  OVERLAY_RECIPE_INVALID: 422,
};
/** Every method the HTTP layer routes, for the 405 of a path's other methods. */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;
/** Metric route labels, by route pattern. */
const ROUTE_NAMES: Record<string, string> = {
  '/v1/infer': 'infer',
  '/v1/results/:id/anomaly-map.png': 'result',
  '/v1/results/:id/overlay.jpg': 'result',
  '/v1/overlays/:bucket/*': 'stream-overlay',
  '/openapi.json': 'openapi',
};

/** The media type of a request's body, lower-case, without parameters. */
function mediaType(request: FastifyRequest): string {
  return request.headers['content-type']?.split(';')[0]?.trim().toLowerCase() ?? '';
}

/** The raw query of a request, as the client sent it (repeated parameters kept, to be refused). */
function queryOf(request: FastifyRequest): URLSearchParams {
  const at = request.url.indexOf('?');
  return new URLSearchParams(at === -1 ? '' : request.url.slice(at + 1));
}

/**
 * `POST /v1/infer[?model=name@version][&fabric=code][&falseAlarmRate=0.02]` with a PNG or JPEG body
 * (raw, or the `image` part of a multipart form) → 200 and the verdict; `GET
 * /v1/results/{id}/anomaly-map.png | overlay.jpg` (the overlay rendered on its first request); `GET
 * /v1/overlays/{bucket}/{key}` (a stream verdict's overlay, see `stream-overlays.ts`); `GET /openapi.json`; on the shared HTTP layer
 * (problem+json, timeouts, body limit, per-client cap). `/v1/*` needs a configured bearer token
 * unless auth is off. The token, content type and query are checked on the headers; the body is
 * read whole (within `limits.maxBodyBytes`) before the request asks for one of the
 * `admission.maxInFlight` slots (`maxQueued` may wait; past that, 429 with `Retry-After`).
 */
export async function startInferenceApi(options: InferenceApiOptions): Promise<InferenceApi> {
  const { admission, metrics, limits } = options;
  const app = createHttpApp({ limits, problems: API_PROBLEMS, logger: options.logger });
  // Only the image types are read; a body of any other type is refused on its headers (415).
  app.removeAllContentTypeParsers();
  acceptRawBodies(app, [...IMAGE_TYPES, MULTIPART]);

  app.addHook('onResponse', (request, reply, done) => {
    const route = ROUTE_NAMES[request.routeOptions.url ?? ''] ?? 'unknown';
    metrics.requests.inc({ route, status: String(reply.statusCode) });
    metrics.requestSeconds.observe({ route }, reply.elapsedTime / 1000);
    done();
  });

  // Hooks throw their refusal; the layer answers it (problem+json) and runs nothing further.
  const authorize = (request: FastifyRequest, _reply: FastifyReply, done: () => void): void => {
    requireToken(options.auth, request.headers.authorization);
    done();
  };
  const queries = new WeakMap<FastifyRequest, InferQuery>();

  const infer = async (request: FastifyRequest, query: InferQuery): Promise<InferenceVerdict> => {
    const received = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const body = mediaType(request) === MULTIPART ? await imageFromMultipart(received, request.headers['content-type'] ?? '') : received;
    if (body.length === 0) throw new LoomwatchError('IMAGE_EMPTY', 'the request body is empty: send the image bytes');
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
      const started = performance.now();
      const { decision, model } = await options.models.use(query.model ?? options.defaultModel, async (decider: Decider) => ({
        decision: await decider.decide(body, query.fabric, query.falseAlarmRate),
        model: decider.model,
      }));
      metrics.inferSeconds.observe((performance.now() - started) / 1000);
      const id = randomUUID();
      // The overlay is rendered when its link is first asked for (unless the decider rendered it already).
      const look = overlayLook(decision.overlayStyle, decision.regions);
      options.results.put(id, decision.overlay === undefined ? { anomalyMapPng: decision.anomalyMapPng, image: body, look } : { anomalyMapPng: decision.anomalyMapPng, overlayJpeg: decision.overlay.body, look });
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

  app.post(
    '/v1/infer',
    {
      onRequest: [
        authorize,
        (request, _reply, done) => {
          const type = mediaType(request);
          if (!IMAGE_TYPES.includes(type) && type !== MULTIPART) {
            throw new LoomwatchError('IMAGE_UNSUPPORTED_FORMAT', `send the image as image/png, image/jpeg or the "image" part of multipart/form-data, not ${type === '' ? 'a body without content-type' : type}`);
          }
          queries.set(request, parseInferQuery(queryOf(request)));
          done();
        },
      ],
      // The layer's body limit, in the API's words: the image is too large.
      errorHandler: (error: Error & { code?: string }) => {
        if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') throw new LoomwatchError('IMAGE_TOO_LARGE', `the image body is over the limit of ${limits.maxBodyBytes} bytes (http.maxBodyBytes)`);
        throw error;
      },
    },
    (request) => infer(request, queries.get(request) ?? parseInferQuery(queryOf(request))),
  );

  const result = (file: 'anomaly-map.png' | 'overlay.jpg') => async (request: FastifyRequest, reply: FastifyReply) => {
    const { id } = request.params as { id: string };
    const stored = RESULT_ID.test(id) ? options.results.get(id) : undefined;
    if (stored === undefined) throw new HttpProblem('RESULT_NOT_FOUND', 404, `no result ${id}: it never existed or has expired (only the last results are kept)`);
    if (file === 'anomaly-map.png') return reply.type('image/png').send(stored.anomalyMapPng);
    let overlay = stored.overlayJpeg;
    if (overlay === undefined) {
      overlay = (await renderOverlayFromMap(stored.image ?? Buffer.alloc(0), stored.anomalyMapPng, stored.look)).body;
      options.results.keepOverlay(id, overlay);
    }
    return reply.type('image/jpeg').send(overlay);
  };
  for (const file of ['anomaly-map.png', 'overlay.jpg'] as const) app.get(`/v1/results/:id/${file}`, { onRequest: authorize }, result(file));

  app.get('/v1/overlays/:bucket/*', { onRequest: authorize }, async (request, reply) => {
    const { bucket, '*': key } = request.params as { bucket: string; '*': string };
    if (options.streamOverlays === undefined) {
      throw new HttpProblem('NOT_ENABLED', 404, 'stream overlays are not served here: list the results bucket in api.streamOverlays.buckets (and give the API S3 access)');
    }
    try {
      const overlay = await options.streamOverlays.get({ bucket, key });
      return await reply.type(overlay.contentType).header('cache-control', 'private, max-age=3600').send(overlay.body);
    } catch (err) {
      if (err instanceof OverlayUnavailableError) throw new HttpProblem(err.problem, STREAM_OVERLAY_STATUS[err.problem], err.message);
      throw err;
    }
  });

  app.get('/openapi.json', () => Promise.resolve(options.openApi));

  refuseOtherMethods(app, {
    '/v1/infer': ['POST'],
    '/v1/results/:id/anomaly-map.png': ['GET', 'HEAD'],
    '/v1/results/:id/overlay.jpg': ['GET', 'HEAD'],
    '/v1/overlays/:bucket/*': ['GET', 'HEAD'],
    '/openapi.json': ['GET', 'HEAD'],
  });

  const listening = await listen(app, { port: options.port ?? 8090, host: options.host ?? '127.0.0.1' });
  return listening;
}

/** 405 with `Allow` for the methods a path does not take, on the headers (no body is read). */
function refuseOtherMethods(app: FastifyInstance, allowed: Record<string, readonly string[]>): void {
  for (const [url, methods] of Object.entries(allowed)) {
    const allow = methods.join(', ');
    app.route({
      method: METHODS.filter((method) => !methods.includes(method)),
      url,
      onRequest: (request, _reply, done) => {
        done(new HttpProblem('METHOD_NOT_ALLOWED', 405, `${request.method} ${request.url.split('?')[0] ?? ''}: use ${allow}`, { allow }));
      },
      handler: (_request, reply) => reply.send(),
    });
  }
}
