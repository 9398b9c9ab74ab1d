/**
 * A webhook receiver as an integrator would write it from the documented scheme alone: verify
 * the signature over the raw body, de-duplicate on the idempotency key. For tests and the demo.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Alert } from '@loomwatch/contracts';
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verifySignature } from '../webhook-signing.js';

interface ReceivedRequest {
  status: number | 'drop';
  verified: boolean;
  key: string | undefined;
}

interface WebhookReceiver {
  url: string;
  /** First delivery per idempotency key, in arrival order. */
  seen: Map<string, Alert>;
  requests: ReceivedRequest[];
  close: () => Promise<void>;
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** `failures` scripts what the first requests get: a status, or 'drop' to cut the connection. */
export async function startWebhookReceiver(secret: string, failures: (number | 'drop')[] = []): Promise<WebhookReceiver> {
  const seen = new Map<string, Alert>();
  const requests: ReceivedRequest[] = [];
  const server: Server = createServer((request, response) => {
    void readBody(request).then((raw) => {
      const key = request.headers[IDEMPOTENCY_HEADER] as string | undefined;
      const verified = verifySignature(secret, raw, request.headers[SIGNATURE_HEADER] as string | undefined, Date.now()).ok;
      const status = failures.shift() ?? (verified ? 200 : 401);
      requests.push({ status, verified, key });
      if (status === 'drop') {
        request.socket.destroy();
        return;
      }
      if (status === 200 && key !== undefined && !seen.has(key)) seen.set(key, JSON.parse(raw.toString()) as Alert);
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    seen,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
