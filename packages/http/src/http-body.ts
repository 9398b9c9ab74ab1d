import type { IncomingMessage } from 'node:http';
import { LoomwatchError } from '@loomwatch/contracts';

/**
 * An uploaded image's bytes, or `IMAGE_TOO_LARGE` as soon as the declared length or the bytes
 * received pass `limit` (the rest is not buffered); `IMAGE_EMPTY` when the client goes away mid-body.
 */
export function readImageBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    if (declared > limit) {
      reject(new LoomwatchError('IMAGE_TOO_LARGE', `the image body is ${declared} bytes; the limit is ${limit}`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limit) {
        settled = true;
        reject(new LoomwatchError('IMAGE_TOO_LARGE', `the image body exceeds the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      settled = true;
      resolve(Buffer.concat(chunks));
    });
    req.on('close', () => {
      if (!settled) reject(new LoomwatchError('IMAGE_EMPTY', 'the client closed the connection before the body ended'));
    });
    req.on('error', reject);
  });
}
