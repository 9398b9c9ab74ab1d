import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LoomwatchError } from '@loomwatch/contracts';
import { createLogger } from '@loomwatch/observability';
import { acceptRawBodies, createHttpApp, listen, unauthorized } from './app.js';
import { httpLimitsConfig } from './limits.js';
import { bearerToken, matchesDigest, newToken, TokenTable, tokenDigest } from './tokens.js';

function quietLogger() {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()) });
  return { logger: createLogger({ service: 'test', level: 'info' }, sink), lines };
}

function app(limits: Partial<{ maxBodyBytes: number; maxRequestsPerClient: number }> = {}) {
  const { logger, lines } = quietLogger();
  const server = createHttpApp({
    limits: httpLimitsConfig({ maxBodyBytes: 1024 }).parse(limits),
    problems: { statuses: { IMAGE_EMPTY: 400 }, internalDetail: 'the server failed; see its log' },
    logger,
  });
  acceptRawBodies(server, ['image/png']);
  server.post('/image', (request) => Promise.resolve({ bytes: (request.body as Buffer).length }));
  server.get('/empty', () => {
    throw new LoomwatchError('IMAGE_EMPTY', 'the image has no bytes: send the PNG itself');
  });
  server.get('/crash', () => {
    throw new Error('stack and secret detail');
  });
  server.get('/who', () => {
    throw unauthorized('send Authorization: Bearer <token>');
  });
  return { server, lines };
}

describe('createHttpApp', () => {
  it('answers every refusal as problem+json with a stable code, the status the service maps, and no stack', async () => {
    const { server, lines } = app();
    const cases = [
      { request: { method: 'GET' as const, url: '/empty' }, status: 400, code: 'IMAGE_EMPTY' },
      { request: { method: 'GET' as const, url: '/nowhere' }, status: 404, code: 'ROUTE_NOT_FOUND' },
      { request: { method: 'GET' as const, url: '/who' }, status: 401, code: 'UNAUTHORIZED' },
      { request: { method: 'GET' as const, url: '/crash' }, status: 500, code: 'INTERNAL' },
      { request: { method: 'POST' as const, url: '/image', headers: { 'content-type': 'image/gif' }, payload: 'GIF89a' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      { request: { method: 'POST' as const, url: '/image', headers: { 'content-type': 'image/png' }, payload: Buffer.alloc(2048) }, status: 413, code: 'BODY_TOO_LARGE' },
    ];
    for (const { request, status, code } of cases) {
      const answer = await server.inject(request);
      expect({ url: request.url, status: answer.statusCode }).toEqual({ url: request.url, status });
      expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(answer.headers['x-content-type-options']).toBe('nosniff');
      const body = answer.json<{ code: string; detail: string; status: number }>();
      expect(body).toMatchObject({ code, status });
      expect(body.detail).not.toMatch(/\n\s+at /);
    }
    expect((await server.inject({ method: 'GET', url: '/who' })).headers['www-authenticate']).toBe('Bearer realm="loomwatch"');
    expect((await server.inject({ method: 'GET', url: '/crash' })).json<{ detail: string }>().detail).toBe('the server failed; see its log');
    expect(lines.join('')).toContain('stack and secret detail');
    const ok = await server.inject({ method: 'POST', url: '/image', headers: { 'content-type': 'image/png' }, payload: Buffer.alloc(10) });
    expect(ok.json()).toEqual({ bytes: 10 });
  });

  it('caps the requests one client has under way: 429 past the cap, served again once one ends', async () => {
    const { server } = app({ maxRequestsPerClient: 1 });
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    server.get('/slow', async () => {
      await gate;
      return { done: true };
    });
    const first = Promise.resolve(server.inject({ method: 'GET', url: '/slow' })); // inject starts when awaited
    await expect.poll(async () => (await server.inject({ method: 'GET', url: '/empty' })).statusCode).toBe(429);
    const busy = await server.inject({ method: 'GET', url: '/empty' });
    expect(busy.json()).toMatchObject({ code: 'CLIENT_BUSY' });
    expect(busy.headers['retry-after']).toBe('1');
    release();
    expect((await first).statusCode).toBe(200);
    expect((await server.inject({ method: 'GET', url: '/empty' })).statusCode).toBe(400);
  });
});

/** The status line, content type and body a raw request written on a socket gets back. */
function rawAnswer(port: number, request: string): Promise<{ statusLine: string; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = text.split('\r\n\r\n');
      resolve({ statusLine: head.split('\r\n')[0] ?? '', contentType: /^content-type: *(.*)$/im.exec(head)?.[1] ?? '', body });
    });
  });
}

describe('createHttpApp on a socket', () => {
  it('answers a URL it cannot decode and a request that is not HTTP with problem+json too', async () => {
    const { server } = app();
    const listening = await listen(server, { port: 0, host: '127.0.0.1' });
    try {
      for (const [request, status] of [
        ['GET /%zz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n', 400],
        ['FOO / HTTP/1.1\r\nhost: x\r\n\r\n', 400],
        ['this is not http\r\n\r\n', 400],
      ] as const) {
        const answer = await rawAnswer(listening.port, request);
        expect(answer.statusLine, request).toBe(`HTTP/1.1 ${status} Bad Request`);
        expect(answer.contentType, request).toMatch(/^application\/problem\+json/);
        expect(JSON.parse(answer.body), request).toMatchObject({ status, code: 'BAD_REQUEST' });
      }
    } finally {
      await listening.close();
    }
  });
});

/** A socket to the server, and everything it has received (resolves `closed` when the server closes it, or after `ms`). */
function openSocket(port: number, ms = 4000): Promise<{ write: (text: string) => void; received: () => string; closed: Promise<string> }> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = connect(port, '127.0.0.1');
    const closed = new Promise<string>((done) => {
      const timer = setTimeout(() => (socket.destroy(), done(text)), ms);
      socket.on('close', () => (clearTimeout(timer), done(text)));
    });
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('error', reject);
    socket.on('connect', () => resolve({ write: (more) => void socket.write(more), received: () => text, closed }));
  });
}

describe('createHttpApp and a body it does not want', () => {
  it('answers an unknown route at once without reading its body, and closes that connection', async () => {
    const { server } = app();
    const listening = await listen(server, { port: 0, host: '127.0.0.1' });
    try {
      const started = Date.now();
      const socket = await openSocket(listening.port);
      // A body of 1,000 bytes is announced and never sent: reading it first would wait for the request timeout.
      socket.write('POST /nowhere HTTP/1.1\r\nhost: x\r\ncontent-type: image/png\r\ncontent-length: 1000\r\n\r\n');
      const text = await socket.closed;
      expect(text.split('\r\n')[0]).toBe('HTTP/1.1 404 Not Found');
      expect(text).toContain('"code":"ROUTE_NOT_FOUND"');
      expect(text).toMatch(/^x-content-type-options: nosniff$/im);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await listening.close();
    }
  });
});

describe('tokens', () => {
  it('are stored as digests: a table finds the holder of a bearer token and nobody for another', () => {
    const camera = newToken();
    expect(camera).toMatch(/^lw_[A-Za-z0-9_-]{43}$/);
    expect(tokenDigest(camera)).toMatch(/^[0-9a-f]{64}$/);
    const table = new TokenTable([[tokenDigest(camera).toUpperCase(), 'line-1/cam-1']]);
    expect(table.holderOf(`Bearer ${camera}`)).toBe('line-1/cam-1');
    expect(table.holderOf(`bearer ${camera}  `)).toBe('line-1/cam-1');
    expect(table.holderOf(`Bearer ${newToken()}`)).toBeUndefined();
    expect(table.holderOf(`Basic ${camera}`)).toBeUndefined();
    expect(table.holderOf(undefined)).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(matchesDigest(camera, tokenDigest(camera))).toBe(true);
    expect(matchesDigest(camera, tokenDigest(`${camera}x`))).toBe(false);
    expect(matchesDigest(camera, 'not-hex')).toBe(false);
  });
});
