import type { ServerResponse } from 'node:http';
import { Id, LoomwatchError } from '@loomwatch/contracts';
import { createHttpApp, listen, type FastifyInstance, type FastifyRequest, type HttpLimits } from '@loomwatch/http';
import { Semaphore } from '@loomwatch/concurrency';
import type { KafkaClient } from '@loomwatch/kafka';
import type { Logger } from '@loomwatch/observability';
import type { BlobStore } from '@loomwatch/storage';
import type { AuthConfig, ObjectAllowance } from './config.js';
import { publishControl, type ControlRecord } from './control-topic.js';
import type { ViewStore } from './feed.js';
import type { FeedbackDesk } from './feedback.js';
import { findFrame, findVerdict, queryVerdicts, type HistoryDeps } from './history.js';
import type { DashboardMetrics } from './metrics.js';
import { allowedObject, contentTypeOf, objectPath, objectPolicyOf, type PagePlace } from './objects.js';
import { operatingPointRevision, parseOperatingPointChange } from './operating-point.js';
import { isOverlayKey, type OverlayDesk } from './overlays.js';
import { HttpProblem, PROBLEMS } from './problem.js';
import { parseVerdictQuery } from './query.js';
import { findRetrain, manualRequest, parseAskBody, parsePromoteBody, promotionOf } from './retrain.js';
import { qualityReport, type VerdictTally } from './quality.js';
import { parseFeedbackAnswer, reviewQueue, type QueueOptions, type ReviewBook } from './reviews.js';
import { addSignIn, describeSession, type RouteTag, type SignIn } from './sign-in.js';
import { PAGE_CSP, readStatic } from './static.js';
import type { LagView } from './view.js';

export interface DashboardServerOptions {
  port: number;
  host: string;
  limits: HttpLimits;
  auth: AuthConfig;
  publicDir: string;
  store: ViewStore;
  history: HistoryDeps;
  blobs: BlobStore;
  allow: readonly ObjectAllowance[];
  /** Where the retrain reports are: HTML there is served as a page (without scripts), anywhere else as a download. */
  reportPages: PagePlace;
  maxObjectBytes: number;
  /** Renders an overlay key S3 does not have (`objects.renderOverlays`); undefined: such a key is a 404. */
  overlays: OverlayDesk | undefined;
  maxLimit: number;
  maxClients: number;
  maxClientBufferBytes: number;
  /** History pages and frame lookups read from the topics at once; more wait. */
  maxConcurrentReads: number;
  heartbeatMs: number;
  /** Measures the workers' lag now. */
  lag: () => Promise<LagView>;
  /** Publishes engineers' changes of the operating point. */
  control: { kafka: KafkaClient; topic: string };
  /** The operators' reviews: those read, the desk that publishes new ones, the queue's settings. */
  reviews: { book: ReviewBook; desk: FeedbackDesk; queue: QueueOptions; tally: VerdictTally };
  metrics: DashboardMetrics;
  logger: Logger;
}

export interface DashboardServer {
  readonly port: number;
  /** Whether sign-in can reach the provider (for `/readyz`). */
  readonly signIn: SignIn;
  /** Ends the event streams, lets the other requests finish, then closes. */
  close(): Promise<void>;
}

const FRAME_PATH = /^\/api\/frames\/([^/]+)\/([^/]+)\/([^/]+)$/;
const SECURITY_HEADERS = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };

/** A broker read; a failure the Kafka ports did not classify is the brokers not answering (503, retry). */
async function fromBroker<T>(what: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof LoomwatchError || err instanceof HttpProblem) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new LoomwatchError('BROKER_UNAVAILABLE', `${what} failed: ${reason} — check that the brokers in kafka.brokers are up, then retry`, { cause: err, retryable: true });
  }
}

/** A path segment that must be an id, or a 400 naming it. */
function idParam(name: string, raw: string): string {
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    value = raw;
  }
  if (!Id.safeParse(value).success) throw new HttpProblem('QUERY_INVALID', 400, `${name} must be an id (letters, digits, ".", "_" or "-", at most 128)`);
  return value;
}

function pathOf(request: FastifyRequest): string {
  return request.url.split('?')[0] ?? '/';
}

function searchOf(request: FastifyRequest): URLSearchParams {
  const at = request.url.indexOf('?');
  return new URLSearchParams(at < 0 ? '' : request.url.slice(at + 1));
}

const tag = (route: string, more: RouteTag = {}): { config: RouteTag } => ({ config: { route, ...more } });

/**
 * The dashboard's HTTP surface on the shared HTTP layer: the built page, `/api/snapshot`,
 * `/api/events` (Server-Sent Events: a `snapshot`, then a `delta` per change), `/api/verdicts`
 * (past verdicts, paged back), `/api/frames/<line>/<camera>/<frame>?capturedAt=` (a verdict's frame
 * event), `/api/lag`, `/api/objects/<bucket>/<key>` (the allowed objects, read with the server's
 * credentials; an overlay not yet stored is rendered and stored on the way, see `overlays.ts`), `/api/me`, `POST /api/rollouts/operating-point`, `POST /api/retrain/promote` and
 * `POST /api/retrain/request` (engineers), `/api/quality`, `POST /api/feedback` and
 * `/api/review/next` (operators), and sign-in
 * (`/auth/*`). Every refusal is RFC 9457 problem+json with a stable code.
 */
async function buildDashboardApp(options: DashboardServerOptions): Promise<{ app: FastifyInstance; signIn: SignIn }> {
  const { store, metrics, logger } = options;
  const app = createHttpApp({ limits: options.limits, problems: PROBLEMS, logger });
  const signIn = await addSignIn(app, { auth: options.auth, logger });
  const streams = new Set<ServerResponse>();
  // Reads back from the topics wait their turn: a burst of history pages cannot swamp the brokers.
  const reads = new Semaphore(options.maxConcurrentReads);

  app.addHook('onResponse', async (request, reply) => {
    const route = (request.routeOptions.config as RouteTag).route ?? 'unknown';
    metrics.requests.inc({ route, status: String(reply.statusCode) });
    metrics.requestSeconds.observe({ route }, reply.elapsedTime / 1000);
  });

  app.get('/api/snapshot', tag('snapshot'), (_request, reply) =>
    reply.header('cache-control', 'no-store').send({ limits: store.limits, state: store.state, serverTime: new Date().toISOString() }),
  );

  app.get('/api/me', tag('me'), (request, reply) => reply.header('cache-control', 'no-store').send(describeSession(signIn.sessionOf(request), options.auth.mode)));

  app.get('/api/events', tag('events'), (request, reply) => {
    if (streams.size >= options.maxClients) {
      throw new HttpProblem('TOO_MANY_CLIENTS', 503, `${streams.size} browsers are streaming already (dashboard.maxClients): close a tab or raise the limit`, { 'retry-after': '10' });
    }
    // The stream is written on the socket itself; fastify leaves it alone from here.
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    metrics.requests.inc({ route: 'events', status: '200' });
    if (request.method === 'HEAD') {
      res.end();
      return;
    }
    const send = (event: string, data: unknown): void => {
      if (res.writableLength > options.maxClientBufferBytes) {
        metrics.clientsDropped.inc();
        logger.warn({ buffered: res.writableLength }, 'dropping an event stream that does not keep up; the browser reconnects');
        res.destroy();
        return;
      }
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    res.write('retry: 2000\n\n');
    send('snapshot', { limits: store.limits, state: store.state, serverTime: new Date().toISOString() });
    const unsubscribe = store.subscribe((event) => send('delta', event));
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), options.heartbeatMs);
    streams.add(res);
    metrics.clients.set(streams.size);
    const end = (): void => {
      clearInterval(heartbeat);
      unsubscribe();
      streams.delete(res);
      metrics.clients.set(streams.size);
    };
    res.once('close', end);
    // A write to a connection the browser dropped: the stream ends, the server goes on.
    res.once('error', end);
  });

  app.get('/api/verdicts', tag('verdicts'), async (request, reply) => {
    const query = parseVerdictQuery(searchOf(request), options.maxLimit);
    const page = await reads.run(() => fromBroker('reading past verdicts', () => queryVerdicts(options.history, query)));
    return reply.header('cache-control', 'no-store').send(page);
  });

  app.get('/api/lag', tag('lag'), async (_request, reply) => reply.header('cache-control', 'no-store').send(await fromBroker('measuring the lag', options.lag)));

  app.get('/api/objects/*', tag('object'), async (request, reply) => {
    const ref = allowedObject(pathOf(request), options.allow);
    const head = await options.blobs.head(ref);
    let body: Buffer | undefined;
    if (head === undefined) {
      // An overlay left for on request (worker.overlays: on-request): rendered from its map and frame now, stored for the next.
      if (options.overlays === undefined || !isOverlayKey(ref.key)) throw new HttpProblem('OBJECT_NOT_FOUND', 404, `no object ${ref.bucket}/${ref.key}: it was never stored or has expired`);
      body = (await options.overlays.render(ref)).body;
    } else if (head.bytes > options.maxObjectBytes) {
      throw new HttpProblem('OBJECT_TOO_LARGE', 413, `the object is ${head.bytes} bytes; the dashboard serves at most ${options.maxObjectBytes} (objects.maxBytes)`);
    }
    if (request.method === 'HEAD') body = undefined;
    else body ??= await options.blobs.get(ref);
    const contentType = contentTypeOf(ref, options.reportPages);
    return reply
      .headers({
        'content-type': contentType,
        // Keys are derived from frame and model version (reports from the request id): a key's content does not change.
        'cache-control': 'private, max-age=3600',
        'content-security-policy': objectPolicyOf(contentType),
      })
      .send(body ?? '');
  });

  app.get('/api/frames/*', tag('frame'), async (request, reply) => {
    const match = FRAME_PATH.exec(pathOf(request));
    if (match === null) throw new HttpProblem('NOT_FOUND', 404, `no API at ${pathOf(request)}: frames are at /api/frames/<line>/<camera>/<frame>?capturedAt=`);
    const [, line = '', camera = '', frame = ''] = match;
    const lineId = idParam('line', line);
    const cameraId = idParam('camera', camera);
    const frameId = idParam('frame', frame);
    const capturedAt = Date.parse(searchOf(request).get('capturedAt') ?? '');
    if (!Number.isFinite(capturedAt)) throw new HttpProblem('QUERY_INVALID', 400, 'capturedAt must be the verdict\'s capturedAt (an ISO 8601 timestamp)');
    const event = await reads.run(() => fromBroker('looking up the frame', () => findFrame(options.history, lineId, cameraId, frameId, capturedAt)));
    if (event === undefined) {
      throw new HttpProblem('FRAME_NOT_FOUND', 404, `frame ${frameId} of ${lineId}:${cameraId} is not on the frames topic near its capture time (expired, or published elsewhere)`);
    }
    return reply.header('cache-control', 'no-store').send({ frame: event, image: objectPath({ bucket: event.image.bucket, key: event.image.key }), reviews: options.reviews.book.of(frameId) });
  });

  app.post('/api/feedback', tag('feedback', { role: 'operator' }), async (request, reply) => {
    const answer = parseFeedbackAnswer(request.body);
    const session = signIn.sessionOf(request);
    const capturedAt = Date.parse(answer.capturedAt);
    const { record, created } = await options.reviews.desk.submit(answer, { subject: session.subject, name: session.name }, async () => {
      const [verdict, frame] = await reads.run(() =>
        fromBroker('looking up the reviewed frame', () =>
          Promise.all([
            findVerdict(options.history, answer.lineId, answer.cameraId, answer.frameId, capturedAt),
            findFrame(options.history, answer.lineId, answer.cameraId, answer.frameId, capturedAt),
          ]),
        ),
      );
      if (verdict === undefined) throw new HttpProblem('VERDICT_NOT_FOUND', 404, `no verdict of frame ${answer.frameId} of ${answer.lineId}:${answer.cameraId} near ${answer.capturedAt} on the verdicts topic: send the verdict's capturedAt`);
      if (frame === undefined) throw new HttpProblem('FRAME_NOT_FOUND', 404, `frame ${answer.frameId} of ${answer.lineId}:${answer.cameraId} is not on the frames topic near its capture time (expired, or published elsewhere): it cannot be reviewed`);
      return { verdict, frame };
    });
    if (created) logger.info({ subject: session.subject, feedbackId: record.feedbackId, frameId: record.frameId, label: record.label, revision: record.revision }, `${session.name} reviewed a frame`);
    return reply.code(created ? 201 : 200).header('cache-control', 'no-store').send(record);
  });

  app.get('/api/quality', tag('quality'), (_request, reply) => reply.header('cache-control', 'no-store').send(qualityReport(options.reviews.book, options.reviews.tally)));

  app.get('/api/review/next', tag('review-next', { role: 'operator' }), (request, reply) => {
    const search = searchOf(request);
    for (const name of search.keys()) {
      if (!['line', 'camera', 'skip'].includes(name)) throw new HttpProblem('QUERY_INVALID', 400, `unknown parameter ${name}: use line, camera and skip (frame ids, comma-separated)`);
    }
    const line = search.get('line') ?? '';
    const camera = search.get('camera') ?? '';
    const skip = new Set((search.get('skip') ?? '').split(',').filter((id) => id !== '').slice(0, 1000));
    const cameras = Object.values(store.state.cameras).filter((c) => (line === '' || c.lineId === line) && (camera === '' || c.cameraId === camera));
    return reply.header('cache-control', 'no-store').send(reviewQueue(cameras, options.reviews.book, options.reviews.queue, skip));
  });

  /**
   * Changes of the control topic (operating points, promotions, refit requests), one at a time: each
   * is built from the view, published, and applied to the view at once (the feed reads it back as a
   * repeat), so the next one sees it — a double click promotes once, and two changes of a deployment
   * never take the same revision.
   */
  const controlChanges = new Semaphore(1);
  const publishControlChange = async (records: readonly ControlRecord[]): Promise<void> => {
    await fromBroker('publishing on the control topic', () => publishControl(options.control.kafka, options.control.topic, records));
    for (const r of records) store.apply('deployment' in r ? { type: 'deployment', deployment: r.deployment } : { type: 'retrain', key: r.key, request: r.request });
  };

  app.post('/api/rollouts/operating-point', tag('operating-point', { role: 'engineer' }), async (request, reply) => {
    const change = parseOperatingPointChange(request.body);
    const session = signIn.sessionOf(request);
    const deployment = await controlChanges.run(async () => {
      const next = operatingPointRevision(store.state.deployments, change, session.name, new Date());
      await publishControlChange([{ deployment: next }]);
      return next;
    });
    logger.info({ subject: session.subject, model: deployment.model, revision: deployment.revision, operatingPoint: deployment.operatingPoint }, `${session.name} changed the operating point`);
    return reply.header('cache-control', 'no-store').send({ published: deployment });
  });

  app.post('/api/retrain/promote', tag('retrain-promote', { role: 'engineer' }), async (request, reply) => {
    const body = parsePromoteBody(request.body);
    const session = signIn.sessionOf(request);
    const published = await controlChanges.run(async () => {
      const { key, request: inForce } = findRetrain(store.state.retrains, body);
      const { deployment, record } = promotionOf(inForce, store.state.deployments, body, session.name, new Date());
      await publishControlChange([{ deployment }, { key, request: record }]);
      return { deployment, request: record };
    });
    logger.info({ subject: session.subject, request: published.request.id, model: published.deployment.model, revision: published.deployment.revision, stage: body.stage }, `${session.name} promoted a retrain candidate`);
    return reply.header('cache-control', 'no-store').send({ published });
  });

  app.post('/api/retrain/request', tag('retrain-request', { role: 'engineer' }), async (request, reply) => {
    const ask = parseAskBody(request.body);
    const session = signIn.sessionOf(request);
    const published = await controlChanges.run(async () => {
      const { key, record } = manualRequest(ask, store.state.retrains, store.state.deployments, session.name, new Date());
      await publishControlChange([{ key, request: record }]);
      return record;
    });
    logger.info({ subject: session.subject, request: published.id, model: published.model, fabric: published.fabric ?? 'all' }, `${session.name} asked for a refit`);
    return reply.code(201).header('cache-control', 'no-store').send({ published });
  });

  app.get('/api/*', tag('unknown'), (request) => {
    throw new HttpProblem('NOT_FOUND', 404, `no API at ${pathOf(request)}: see the dashboard README for the endpoints`);
  });

  app.get('/*', tag('page'), async (request, reply) => {
    const file = await readStatic(options.publicDir, pathOf(request));
    return reply
      .headers({
        'content-type': file.contentType,
        'cache-control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
        'content-security-policy': PAGE_CSP,
      })
      .send(file.body);
  });

  app.route({
    method: ['POST', 'PUT', 'PATCH', 'DELETE'],
    url: '/*',
    ...tag('unknown', { refuses: true }),
    handler: (request) => {
      throw new HttpProblem('METHOD_NOT_ALLOWED', 405, `${request.method} ${pathOf(request)}: the dashboard only reads there; use GET`, { allow: 'GET, HEAD' });
    },
  });

  app.addHook('preClose', (done) => {
    for (const stream of streams) stream.end();
    done();
  });
  return { app, signIn };
}

/** Builds the app and listens on `port` (0: a free one). */
export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const { app, signIn } = await buildDashboardApp(options);
  const listening = await listen(app, { port: options.port, host: options.host });
  return { port: listening.port, signIn, close: () => listening.close() };
}
