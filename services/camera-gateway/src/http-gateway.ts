import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { describeIssues, Id, LoomwatchError, MISSING_IS_REQUIRED, toLoomwatchError, type FrameEvent, type ImageEncoding } from '@loomwatch/contracts';
import { readImageBody } from '@loomwatch/http';
import type { Logger } from '@loomwatch/observability';
import { FabricCode } from './fabric.js';
import type { FramePublisher } from './frame-publisher.js';
import { describeImageBody, looksComplete } from './image-files.js';

interface HttpGatewayOptions {
  /** @defaultValue 8080 */
  port?: number;
  /** @defaultValue '127.0.0.1' */
  host?: string;
  /** Largest accepted image body. @defaultValue 64 MiB */
  maxBodyBytes?: number;
  logger: Logger;
  onPublished?: (event: FrameEvent) => void;
  /** Told the number of frame requests under way whenever it changes. */
  onInFlight?: (count: number) => void;
}

export interface HttpGateway {
  readonly port: number;
  /** Stops accepting, lets requests under way finish, then closes. */
  close(): Promise<void>;
}

/** Frame metadata, from the query string of `POST /v1/frames`. */
const FrameQuery = z.strictObject({
  lineId: Id,
  cameraId: Id,
  // Not z.coerce: it reads an empty `seq=` as 0.
  seq: z
    .string()
    .regex(/^\d+$/, 'a non-negative integer')
    .transform(Number)
    .pipe(z.int().max(Number.MAX_SAFE_INTEGER)),
  capturedAt: z.iso.datetime({ offset: true }).optional(),
  /** The fabric, as the hot folder's config names it: the model's per-fabric thresholds apply. */
  fabricCode: FabricCode.optional(),
  rollId: z.string().min(1).max(64).optional(),
  position: z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'a non-negative number of metres')
    .transform(Number)
    .optional(),
});

const SHARP_FORMATS: Record<string, ImageEncoding> = { png: 'png', jpeg: 'jpeg', tiff: 'tiff', webp: 'webp' };

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function describeImage(body: Buffer): Promise<{ width: number; height: number; encoding: ImageEncoding }> {
  if (body.length === 0) throw new LoomwatchError('IMAGE_EMPTY', 'the request body is empty: send the image bytes');
  const { width, height, format, colourChannels, depth } = await describeImageBody(body, 'the request body');
  const encoding = SHARP_FORMATS[format];
  if (encoding === undefined) {
    throw new LoomwatchError('IMAGE_UNSUPPORTED_FORMAT', `images must be PNG, JPEG, TIFF or WebP, not ${format}`);
  }
  // Refused here with the worker's codes, so the sender learns now rather than from a dead letter.
  if (colourChannels !== 1) {
    throw new LoomwatchError('IMAGE_CHANNELS_UNSUPPORTED', `the image has ${colourChannels} colour channels; line-scan frames are 8-bit grayscale: send a single-channel image`);
  }
  if (depth !== 'uchar' && depth !== 'char') {
    throw new LoomwatchError('IMAGE_DEPTH_UNSUPPORTED', `the image has ${depth} samples; frames are 8-bit: send 8 bits per pixel`);
  }
  if (!looksComplete(body, encoding)) throw new LoomwatchError('IMAGE_CORRUPT', `the ${format} body ends early: the image is truncated`);
  return { width, height, encoding };
}

const STATUS: Partial<Record<LoomwatchError['code'], number>> = {
  IMAGE_TOO_LARGE: 413,
  MESSAGE_SCHEMA_VIOLATION: 400,
  IMAGE_EMPTY: 400,
  IMAGE_CORRUPT: 400,
  IMAGE_UNSUPPORTED_FORMAT: 415,
  IMAGE_CHANNELS_UNSUPPORTED: 422,
  IMAGE_DEPTH_UNSUPPORTED: 422,
};

/**
 * `POST /v1/frames?lineId=…&cameraId=…&seq=…` with the image as body: uploads, publishes, returns
 * the frame id (201). The same request again gives the same frame id and publishes nothing more
 * while the gateway remembers the frame (see FramePublisher).
 */
export async function startHttpGateway(publisher: FramePublisher, options: HttpGatewayOptions): Promise<HttpGateway> {
  const limit = options.maxBodyBytes ?? 64 * 1024 * 1024;
  const underWay = new Set<Promise<void>>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://gateway');
    if (url.pathname !== '/v1/frames') return send(res, 404, { error: { code: 'NOT_FOUND', message: 'POST /v1/frames' } });
    if (req.method !== 'POST') return send(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'use POST' } });
    const started = performance.now();
    const handling = (async () => {
      try {
        const query = FrameQuery.safeParse(Object.fromEntries(url.searchParams), MISSING_IS_REQUIRED);
        if (!query.success) {
          throw new LoomwatchError('MESSAGE_SCHEMA_VIOLATION', `bad frame metadata in the query string — ${describeIssues(query.error.issues, '(query)')}`, {
            details: { fields: query.error.issues.map((i) => i.path.join('.')) },
          });
        }
        const body = await readImageBody(req, limit);
        const image = await describeImage(body);
        const { lineId, cameraId, seq, capturedAt, fabricCode, rollId, position } = query.data;
        const product = {
          ...(fabricCode === undefined ? {} : { fabricCode }),
          ...(rollId === undefined ? {} : { rollId }),
          ...(position === undefined ? {} : { position }),
        };
        const event = await publisher.publish({
          lineId,
          cameraId,
          seq,
          capturedAt: capturedAt === undefined ? new Date() : new Date(capturedAt),
          image: body,
          ...image,
          ...(Object.keys(product).length === 0 ? {} : { product }),
        });
        options.onPublished?.(event);
        send(res, 201, { frameId: event.frameId, image: { bucket: event.image.bucket, key: event.image.key } });
        options.logger.info({ status: 201, frameId: event.frameId, bytes: body.length, ms: Math.round(performance.now() - started) }, `POST /v1/frames ${lineId}/${cameraId} seq ${seq}: 201`);
      } catch (thrown) {
        const error = toLoomwatchError(thrown);
        const status = STATUS[error.code] ?? (error.retryable ? 503 : 500);
        if (status >= 500) options.logger.error({ err: error, status }, `POST /v1/frames: ${status} ${error.code}`);
        else options.logger.info({ status, code: error.code, ms: Math.round(performance.now() - started) }, `POST /v1/frames: ${status} ${error.code} — ${error.message}`);
        if (!req.complete) {
          // Answer now and close; the unread rest of the body is discarded, for a bounded time.
          res.setHeader('connection', 'close');
          req.resume();
          setTimeout(() => req.destroy(), 5_000).unref();
        }
        send(res, status, { error: { code: error.code, message: error.message } });
      }
    })();
    underWay.add(handling);
    options.onInFlight?.(underWay.size);
    void handling.finally(() => {
      underWay.delete(handling);
      options.onInFlight?.(underWay.size);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all(underWay);
      server.closeIdleConnections();
      await closed;
    },
  };
}
