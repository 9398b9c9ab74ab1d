import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** A readiness check: resolves true when the dependency can serve. */
export type ReadinessCheck = () => Promise<boolean> | boolean;

export interface OpsServerOptions {
  /** @defaultValue 0 (an ephemeral port) */
  port?: number;
  /** @defaultValue '127.0.0.1' */
  host?: string;
  registry: Registry;
  /** Named checks; `/readyz` is 200 only when all pass. */
  readiness?: Record<string, ReadinessCheck>;
}

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

async function runChecks(checks: Record<string, ReadinessCheck>): Promise<Record<string, boolean>> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        return [name, await check()] as const;
      } catch {
        return [name, false] as const;
      }
    }),
  );
  return Object.fromEntries(entries);
}

/** `/healthz` (process alive), `/readyz` (dependencies ready), `/metrics` (Prometheus text). */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, contentType: string, body: string): void => {
      res.writeHead(status, { 'content-type': contentType });
      res.end(body);
    };
    if (path === '/healthz') return reply(200, 'application/json', '{"status":"ok"}');
    if (path === '/readyz') {
      void runChecks(options.readiness ?? {}).then((checks) => {
        const ready = Object.values(checks).every(Boolean);
        reply(ready ? 200 : 503, 'application/json', JSON.stringify({ ready, checks }));
      });
      return;
    }
    if (path === '/metrics') {
      void options.registry.metrics().then(
        (text) => reply(200, options.registry.contentType, text),
        (err: unknown) => reply(500, 'text/plain', String(err)),
      );
      return;
    }
    reply(404, 'text/plain', 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
