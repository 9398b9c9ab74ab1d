import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Id, LoomwatchError } from '@loomwatch/contracts';
import { Semaphore } from '@loomwatch/kafka';
import type { Logger } from '@loomwatch/observability';
import type { BlobStore } from '@loomwatch/storage';
import type { ObjectAllowance } from './config.js';
import type { ViewStore } from './feed.js';
import { findFrame, queryVerdicts, type HistoryDeps } from './history.js';
import type { DashboardMetrics } from './metrics.js';
import { allowedObject, contentTypeOf, objectPath, OBJECTS_PATH } from './objects.js';
import { HttpProblem, toProblem } from './problem.js';
import { parseVerdictQuery } from './query.js';
import { PAGE_CSP, readStatic } from './static.js';
import type { LagView } from './view.js';

export interface DashboardServerOptions {
  port: number;
  host: string;
  publicDir: string;
  store: ViewStore;
  history: HistoryDeps;
  blobs: BlobStore;
  allow: readonly ObjectAllowance[];
  maxObjectBytes: number;
  maxLimit: number;
  maxClients: number;
  maxClientBufferBytes: number;
  /** History pages and frame lookups read from the topics at once; more wait. */
  maxConcurrentReads: number;
  heartbeatMs: number;
  /** Measures the workers' lag now. */
  lag: () => Promise<LagView>;
  metrics: DashboardMetrics;
  logger: Logger;
}

export interface DashboardServer {
  readonly port: number;
  /** Ends the event streams, lets the other requests finish, then closes. */
  close(): Promise<void>;
}

const FRAME_PATH = /^\/api\/frames\/([^/]+)\/([^/]+)\/([^/]+)$/;
const SECURITY_HEADERS = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };

type Route = 'page' | 'snapshot' | 'events' | 'verdicts' | 'frame' | 'lag' | 'object' | 'unknown';

function routeOf(path: string): Route {
  if (path === '/api/snapshot') return 'snapshot';
  if (path === '/api/events') return 'events';
  if (path === '/api/verdicts') return 'verdicts';
  if (path === '/api/lag') return 'lag';
  if (path.startsWith(OBJECTS_PATH)) return 'object';
  if (FRAME_PATH.test(path)) return 'frame';
  if (path.startsWith('/api/')) return 'unknown';
  return 'page';
}

function sendJson(res: ServerResponse, status: number, body: unknown, contentType = 'application/json', headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, ...headers, 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

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

/**
 * The dashboard's HTTP surface: the built page, `/api/snapshot`, `/api/events` (Server-Sent
 * Events: a `snapshot`, then a `delta` per change), `/api/verdicts` (past verdicts, paged back),
 * `/api/frames/<line>/<camera>/<frame>?capturedAt=` (a verdict's frame event), `/api/lag`, and
 * `/api/objects/<bucket>/<key>` (the allowed objects, read with the server's credentials). Every
 * refusal is RFC 9457 problem+json with a stable code.
 */
export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const { store, metrics, logger } = options;
  const streams = new Set<ServerResponse>();
  const underWay = new Set<Promise<void>>();
  // Reads back from the topics wait their turn: a burst of history pages cannot swamp the brokers.
  const reads = new Semaphore(options.maxConcurrentReads);

  const openStream = (req: IncomingMessage, res: ServerResponse): void => {
    if (streams.size >= options.maxClients) {
      throw new HttpProblem('TOO_MANY_CLIENTS', 503, `${streams.size} browsers are streaming already (dashboard.maxClients): close a tab or raise the limit`, { 'retry-after': '10' });
    }
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    if (req.method === 'HEAD') {
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
  };

  const serveObject = async (req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> => {
    const ref = allowedObject(pathname, options.allow);
    const head = await options.blobs.head(ref);
    if (head === undefined) throw new HttpProblem('OBJECT_NOT_FOUND', 404, `no object ${ref.bucket}/${ref.key}: it was never stored or has expired`);
    if (head.bytes > options.maxObjectBytes) {
      throw new HttpProblem('OBJECT_TOO_LARGE', 413, `the object is ${head.bytes} bytes; the dashboard serves at most ${options.maxObjectBytes} (objects.maxBytes)`);
    }
    const body = req.method === 'HEAD' ? undefined : await options.blobs.get(ref);
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': contentTypeOf(ref.key),
      'content-length': String(body?.length ?? head.bytes),
      // Keys are derived from frame and model version: a key's content does not change.
      'cache-control': 'private, max-age=3600',
      'content-security-policy': "default-src 'none'; sandbox",
    });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<Route> => {
    let route: Route = 'unknown';
    try {
      const url = new URL(req.url ?? '/', 'http://dashboard');
      route = routeOf(url.pathname);
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        throw new HttpProblem('METHOD_NOT_ALLOWED', 405, `${req.method ?? ''} ${url.pathname}: the dashboard only reads; use GET`, { allow: 'GET, HEAD' });
      }
      switch (route) {
        case 'unknown':
          throw new HttpProblem('NOT_FOUND', 404, `no API at ${url.pathname}: see the dashboard README for the endpoints`);
        case 'page': {
          const file = await readStatic(options.publicDir, url.pathname);
          res.writeHead(200, {
            ...SECURITY_HEADERS,
            'content-type': file.contentType,
            'cache-control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
            'content-security-policy': PAGE_CSP,
          });
          res.end(req.method === 'HEAD' ? undefined : file.body);
          return route;
        }
        case 'snapshot':
          sendJson(res, 200, { limits: store.limits, state: store.state, serverTime: new Date().toISOString() });
          return route;
        case 'events':
          openStream(req, res);
          return route;
        case 'verdicts':
          {
            const query = parseVerdictQuery(url.searchParams, options.maxLimit);
            sendJson(res, 200, await reads.run(() => fromBroker('reading past verdicts', () => queryVerdicts(options.history, query))));
          }
          return route;
        case 'lag':
          sendJson(res, 200, await fromBroker('measuring the lag', options.lag));
          return route;
        case 'object':
          await serveObject(req, res, url.pathname);
          return route;
        case 'frame': {
          const [, line = '', camera = '', frame = ''] = FRAME_PATH.exec(url.pathname) ?? [];
          const lineId = idParam('line', line);
          const cameraId = idParam('camera', camera);
          const frameId = idParam('frame', frame);
          const capturedAt = Date.parse(url.searchParams.get('capturedAt') ?? '');
          if (!Number.isFinite(capturedAt)) throw new HttpProblem('QUERY_INVALID', 400, 'capturedAt must be the verdict\'s capturedAt (an ISO 8601 timestamp)');
          const event = await reads.run(() => fromBroker('looking up the frame', () => findFrame(options.history, lineId, cameraId, frameId, capturedAt)));
          if (event === undefined) {
            throw new HttpProblem('FRAME_NOT_FOUND', 404, `frame ${frameId} of ${lineId}:${cameraId} is not on the frames topic near its capture time (expired, or published elsewhere)`);
          }
          sendJson(res, 200, { frame: event, image: objectPath({ bucket: event.image.bucket, key: event.image.key }) });
          return route;
        }
      }
    } catch (thrown) {
      const { status, problem, headers } = toProblem(thrown instanceof TypeError && route === 'unknown' ? new HttpProblem('NOT_FOUND', 404, 'the request URL is not valid') : thrown);
      if (status >= 500 && !(thrown instanceof HttpProblem)) {
        // A known, transient failure is logged by its code and message; anything else with its stack.
        if (thrown instanceof LoomwatchError && thrown.retryable) logger.warn({ code: problem.code, route }, `request failed: ${thrown.message}`);
        else logger.error({ err: thrown, code: problem.code, route }, `request failed: ${thrown instanceof LoomwatchError ? thrown.message : String(thrown)}`);
      }
      if (res.headersSent) res.destroy();
      else sendJson(res, status, problem, 'application/problem+json', headers);
      return route;
    }
  };

  const server = createServer((req, res) => {
    const started = performance.now();
    const handling = handle(req, res).then((route) => {
      metrics.requests.inc({ route, status: String(res.statusCode) });
      if (route !== 'events') metrics.requestSeconds.observe({ route }, (performance.now() - started) / 1000);
    });
    underWay.add(handling);
    void handling.finally(() => underWay.delete(handling));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const stream of streams) stream.end();
      await Promise.all(underWay);
      server.closeIdleConnections();
      await closed;
    },
  };
}
