import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { S3BlobStore } from './s3-blob-store.js';

/** An HTTP server on loopback that resets the connection of the first `resets` requests and answers 200 to the rest. */
async function resettingServer(resets: number): Promise<{ server: Server; endpoint: string; requests: () => number }> {
  let requests = 0;
  const server = createServer((request, response) => {
    requests += 1;
    if (requests <= resets) {
      request.socket.destroy();
      return;
    }
    request.resume();
    request.on('end', () => response.writeHead(200, { ETag: '"e"' }).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => requests };
}

describe('S3BlobStore on a connection reset', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve()))));

  const storeAt = (endpoint: string) => new S3BlobStore({ endpoint, region: 'us-east-1', accessKeyId: 'a', secretAccessKey: 's' });

  it('sends the request again once, at once', async () => {
    const s3 = await resettingServer(1);
    server = s3.server;
    const store = storeAt(s3.endpoint);
    await store.put({ bucket: 'frames', key: 'k.png' }, Buffer.from('png'), 'image/png');
    expect(s3.requests()).toBe(2);
    store.close();
  });

  it('reports a second reset as a retryable STORAGE_UNAVAILABLE, for the caller to retry with backoff', async () => {
    const s3 = await resettingServer(2);
    server = s3.server;
    const store = storeAt(s3.endpoint);
    await expect(store.put({ bucket: 'frames', key: 'k.png' }, Buffer.from('png'))).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', retryable: true });
    expect(s3.requests()).toBe(2);
    store.close();
  });
});
