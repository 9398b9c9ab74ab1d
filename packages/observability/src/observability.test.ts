import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { startOpsServer } from './http-server.js';
import { createLogger } from './logger.js';
import { Counter, createMetricsRegistry } from './metrics.js';

describe('logger', () => {
  it('never writes a secret access key or password', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger({ service: 'test', level: 'info' }, sink);
    logger.info({ config: { s3: { secretAccessKey: 'hunter2' }, db: { password: 'pw' } } }, 'started');
    expect(lines.join('')).not.toMatch(/hunter2|"pw"/);
    expect(lines.join('')).toContain('"service":"test"');
  });

  it('writes one readable line per event for people, secrets still redacted', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger({ service: 'worker', level: 'info', format: 'pretty' }, sink);
    logger.info({ frameId: 'line-1.cam-1.7', config: { s3: { secretAccessKey: 'hunter2' } } }, 'line-1/cam-1 ok');
    const text = lines.join('');
    expect(text).toMatch(/INFO.*line-1\/cam-1 ok/);
    expect(text).toContain('frameId: "line-1.cam-1.7"');
    expect(text).not.toContain('hunter2');
    expect(text.trimStart().startsWith('{')).toBe(false);
  });
});

describe('ops server', () => {
  it('answers /healthz, /readyz from its checks, and /metrics in Prometheus text', async () => {
    const registry = createMetricsRegistry({ service: 'test' });
    new Counter({ name: 'frames_total', help: 'frames', registers: [registry] }).inc(3);
    let brokerUp = false;
    const server = await startOpsServer({ registry, readiness: { broker: () => brokerUp } });
    const base = `http://127.0.0.1:${server.port}`;
    try {
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const notReady = await fetch(`${base}/readyz`);
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toEqual({ ready: false, checks: { broker: false } });
      brokerUp = true;
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/frames_total\{service="test"\} 3/);
      expect((await fetch(`${base}/nope`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
