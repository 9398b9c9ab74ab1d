import { z } from 'zod';
import { describeIssues, Id, LoomwatchError, MISSING_IS_REQUIRED, type FrameEvent, type ImageEncoding } from '@loomwatch/contracts';
import { createHttpApp, HttpProblem, listen, problemOf, unauthorized, type FastifyRequest, type HttpLimits, type Listening, type ProblemMapping, type TokenTable } from '@loomwatch/http';
import type { Logger } from '@loomwatch/observability';
import type { Camera } from './credentials.js';
import { FabricCode } from './fabric.js';
import type { FramePublisher } from './frame-publisher.js';
import { describeImageBody, looksComplete } from './image-files.js';

interface HttpGatewayOptions {
  port: number;
  host: string;
  limits: HttpLimits;
  /** Whose token may publish: the frame's line and camera are its holder's. `none`: anyone, as any camera (development only). */
  cameras: TokenTable<Camera> | 'none';
  logger: Logger;
  onPublished?: (event: FrameEvent) => void;
  /** Told the number of frame requests under way whenever it changes. */
  onInFlight?: (count: number) => void;
}

export type HttpGateway = Listening;

/**
 * Frame metadata, from the query string of `POST /v1/frames`. With camera tokens the line and
 * camera come from the token; the query may still name them, and then they must be the token's.
 */
const FrameQuery = z.strictObject({
  lineId: Id.optional(),
  cameraId: Id.optional(),
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

const PROBLEMS: ProblemMapping = {
  statuses: {
    MESSAGE_SCHEMA_VIOLATION: 400,
    IMAGE_EMPTY: 400,
    IMAGE_CORRUPT: 400,
    IMAGE_UNSUPPORTED_FORMAT: 415,
    IMAGE_CHANNELS_UNSUPPORTED: 422,
    IMAGE_DEPTH_UNSUPPORTED: 422,
  },
  internalDetail: 'the gateway failed; its log says why',
};

const FRAMES = '/v1/frames';

type FrameQuery = z.infer<typeof FrameQuery>;
type Frame = Omit<FrameQuery, 'lineId' | 'cameraId'> & Camera;

/** The camera of a request and the frame it names: 401 without a known token, 403 when the query names another camera. */
function frameOf(request: FastifyRequest, cameras: TokenTable<Camera> | 'none'): Frame {
  let holder: Camera | undefined;
  if (cameras !== 'none') {
    holder = cameras.holderOf(request.headers.authorization);
    if (holder === undefined) {
      const why = request.headers.authorization === undefined ? 'no Authorization header' : 'the token is not a camera credential of this gateway';
      throw unauthorized(`${why}: send the camera's token as Authorization: Bearer <token> (\`gateway token\` mints one)`);
    }
  }
  const query = FrameQuery.safeParse(request.query, MISSING_IS_REQUIRED);
  if (!query.success) {
    throw new LoomwatchError('MESSAGE_SCHEMA_VIOLATION', `bad frame metadata in the query string — ${describeIssues(query.error.issues, '(query)')}`, {
      details: { fields: query.error.issues.map((i) => i.path.join('.')) },
    });
  }
  const { lineId, cameraId, ...frame } = query.data;
  if (holder === undefined) {
    if (lineId === undefined || cameraId === undefined) {
      throw new LoomwatchError('MESSAGE_SCHEMA_VIOLATION', `bad frame metadata in the query string — ${lineId === undefined ? 'lineId' : 'cameraId'}: required`);
    }
    return { ...frame, lineId, cameraId };
  }
  if ((lineId !== undefined && lineId !== holder.lineId) || (cameraId !== undefined && cameraId !== holder.cameraId)) {
    throw new HttpProblem(
      'CAMERA_MISMATCH',
      403,
      `the token is camera ${holder.lineId}/${holder.cameraId}'s, but the query names ${lineId ?? holder.lineId}/${cameraId ?? holder.cameraId}: a camera publishes only as itself — leave lineId and cameraId out, or send that camera's token`,
    );
  }
  return { ...frame, ...holder };
}

/**
 * `POST /v1/frames?seq=…` with the camera's token and the image as body: uploads, publishes under
 * the token's line and camera, returns the frame id (201). The same request again gives the same
 * frame id and publishes nothing more while the gateway remembers the frame (see FramePublisher).
 * Every refusal is problem+json with a `code`; the token and the query are checked before the body
 * is read.
 */
export async function startHttpGateway(publisher: FramePublisher, options: HttpGatewayOptions): Promise<HttpGateway> {
  const { logger, cameras } = options;
  const app = createHttpApp({ limits: options.limits, problems: PROBLEMS, logger });
  // Any body is the image's bytes, whatever its content type says: the format is read from the bytes.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  const frames = new WeakMap<FastifyRequest, Frame>();
  let underWay = 0;
  app.addHook('onError', async (request, _reply, error) => {
    const { status, problem } = problemOf(error, PROBLEMS);
    if (status < 500) logger.info({ status, code: problem.code }, `${request.method} ${request.url.split('?')[0] ?? ''}: ${status} ${problem.code} — ${problem.detail}`);
  });
  app.post(FRAMES, {
    onRequest: async (request, reply) => {
      underWay += 1;
      options.onInFlight?.(underWay);
      reply.raw.once('close', () => {
        underWay -= 1;
        options.onInFlight?.(underWay);
      });
      frames.set(request, frameOf(request, cameras));
    },
    handler: async (request, reply) => {
      const started = performance.now();
      const frame = frames.get(request);
      if (frame === undefined) throw new Error('the frame metadata was not read before the body');
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const image = await describeImage(body);
      const { lineId, cameraId, seq, capturedAt, fabricCode, rollId, position } = frame;
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
      logger.info({ status: 201, frameId: event.frameId, bytes: body.length, ms: Math.round(performance.now() - started) }, `POST /v1/frames ${lineId}/${cameraId} seq ${seq}: 201`);
      return reply.code(201).send({ frameId: event.frameId, image: { bucket: event.image.bucket, key: event.image.key } });
    },
  });
  // The frames route's other methods: 405, not 404, so a client learns the route is right.
  app.route({
    method: ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
    url: FRAMES,
    handler: (request) => {
      throw new HttpProblem('METHOD_NOT_ALLOWED', 405, `${request.method} ${FRAMES}: use POST`, { allow: 'POST' });
    },
  });
  return listen(app, { port: options.port, host: options.host });
}
