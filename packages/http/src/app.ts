import { STATUS_CODES, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Logger } from '@loomwatch/observability';
import type { HttpLimits } from './limits.js';
import { HttpProblem, toProblem, type Problem, type ProblemMapping } from './problem.js';

export interface HttpAppOptions {
  limits: HttpLimits;
  /** How the `LoomwatchError` codes the routes throw become HTTP statuses. */
  problems: ProblemMapping;
  logger: Logger;
  /** Headers on every answer (a route may override them). @defaultValue nosniff and no-referrer */
  headers?: Record<string, string>;
}

const DEFAULT_HEADERS = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };

/** The codes of the refusals the framework itself makes (malformed requests, limits). */
const FRAMEWORK_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  404: 'ROUTE_NOT_FOUND',
  408: 'REQUEST_TIMEOUT',
  413: 'BODY_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  431: 'HEADERS_TOO_LARGE',
};

/** What a client reads when the connection itself was refused (no request could be parsed). */
const CLIENT_ERROR_DETAILS: Record<number, string> = {
  400: 'the request is not valid HTTP/1.1: check the method, the request line and the headers',
  408: 'the request took longer than the server waits for: send the headers and the body without pausing',
  431: 'the request headers are too large',
};

/** 401 with the scheme the client should use. */
export function unauthorized(detail: string, scheme = 'Bearer'): HttpProblem {
  return new HttpProblem('UNAUTHORIZED', 401, detail, { 'www-authenticate': `${scheme} realm="loomwatch"` });
}

/** 403: the caller is known but may not do this. */
export function forbidden(detail: string): HttpProblem {
  return new HttpProblem('FORBIDDEN', 403, detail);
}

/** Anything a route or the framework threw, as status, problem body and headers. */
export function problemOf(thrown: unknown, mapping: ProblemMapping): { status: number; problem: Problem; headers: Record<string, string> } {
  const status = (thrown as Partial<FastifyError> | undefined)?.statusCode;
  const isFrameworkRefusal = thrown instanceof Error && !(thrown instanceof HttpProblem) && typeof status === 'number' && status >= 400 && status < 500 && thrown.name !== 'LoomwatchError';
  if (isFrameworkRefusal) return toProblem(new HttpProblem(FRAMEWORK_CODES[status] ?? 'BAD_REQUEST', status, thrown.message), mapping);
  return toProblem(thrown, mapping);
}

/**
 * A fastify app with what every Loomwatch HTTP surface shares: RFC 9457 problem+json for every
 * refusal and failure (never a stack), header, request and keep-alive timeouts, a body limit, a cap
 * on the requests one client address has under way, security headers, and no per-request log
 * lines (5xx failures are logged, with their cause). Routes are the service's own.
 */
export function createHttpApp(options: HttpAppOptions): FastifyInstance {
  const { limits, problems, logger } = options;
  const httpLogger: FastifyBaseLogger = logger.child({ component: 'http' });
  const app = Fastify({
    loggerInstance: httpLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: limits.maxBodyBytes,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    return503OnClosing: true,
    // A URL that cannot be decoded (`/%zz`) or a path parameter past its length: problem+json too.
    frameworkErrors: (error, _request, reply) => {
      const { status, problem, headers: problemHeaders } = problemOf(error, problems);
      void (reply as FastifyReply).code(status).headers(problemHeaders).type('application/problem+json').send(problem);
    },
    clientErrorHandler: answerClientError,
  });
  app.server.headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);

  const headers = options.headers ?? DEFAULT_HEADERS;
  const underWay = new Map<string, number>();
  app.addHook('onRequest', async (request, reply) => {
    void reply.headers(headers);
    // Refused before its body is read: an unknown route never makes the server take up to the body limit.
    if (request.is404) throw notFound(request.method, request.url, hasBody(request.headers) ? { connection: 'close' } : {});
    const client = request.ip;
    const count = (underWay.get(client) ?? 0) + 1;
    if (count > limits.maxRequestsPerClient) {
      throw new HttpProblem('CLIENT_BUSY', 429, `this client already has ${limits.maxRequestsPerClient} requests under way; wait for one to finish`, { 'retry-after': '1' });
    }
    underWay.set(client, count);
    reply.raw.once('close', () => {
      const left = (underWay.get(client) ?? 1) - 1;
      if (left <= 0) underWay.delete(client);
      else underWay.set(client, left);
    });
  });

  app.setErrorHandler((error, request, reply) => {
    const { status, problem, headers: problemHeaders } = problemOf(error, problems);
    if (status >= 500) request.log.error({ err: error, method: request.method, route: request.routeOptions.url }, `${request.method} ${request.routeOptions.url ?? 'unrouted'} failed: ${problem.detail}`);
    return reply.code(status).headers(problemHeaders).type('application/problem+json').send(problem);
  });
  app.setNotFoundHandler((request, reply) => {
    const { status, problem } = toProblem(notFound(request.method, request.url), problems);
    return reply.code(status).type('application/problem+json').send(problem);
  });
  return app;
}

function notFound(method: string, url: string, headers: Record<string, string> = {}): HttpProblem {
  return new HttpProblem('ROUTE_NOT_FOUND', 404, `no route ${method} ${url.split('?')[0] ?? ''}`, headers);
}

/** Whether a request announces a body (which, left unread, leaves its connection unusable). */
function hasBody(headers: IncomingHttpHeaders): boolean {
  return headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0;
}

/**
 * A connection whose request could not be parsed (an unknown method, a malformed request line or
 * header) or did not arrive in time: a problem+json answer written on the socket, then closed.
 */
function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const { problem } = toProblem(new HttpProblem(FRAMEWORK_CODES[status] ?? 'BAD_REQUEST', status, CLIENT_ERROR_DETAILS[status] ?? 'bad request'), { statuses: {} });
  const body = JSON.stringify(problem);
  // As node does: no answer of ours in the middle of one already being written on this connection.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && inFlight?.headersSent !== true) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  }
  socket.destroy(error);
}

/** Content types whose body a route takes as raw bytes (an image), within the app's body limit. */
export function acceptRawBodies(app: FastifyInstance, contentTypes: readonly string[]): void {
  app.addContentTypeParser([...contentTypes], { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
}

export interface Listening {
  readonly port: number;
  /** Stops accepting, lets requests under way finish, closes idle keep-alive connections. */
  close(): Promise<void>;
}

/** Listens on `host:port` (0: a free port). */
export async function listen(app: FastifyInstance, address: { port: number; host: string }): Promise<Listening> {
  await app.listen({ port: address.port, host: address.host, listenTextResolver: (url) => `listening on ${url}` });
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
}
