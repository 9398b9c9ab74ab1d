import { z } from 'zod';
import { Problem } from './problem.js';
import { InferQuery } from './query.js';
import { InferenceVerdict } from './verdict.js';

/** A zod schema as an OpenAPI 3.1 component (JSON Schema 2020-12, without its own `$schema`). */
function component(schema: z.ZodType, description: string): Record<string, unknown> {
  const { $schema: _dialect, ...generated } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'output', unrepresentable: 'throw' }) as Record<string, unknown>;
  return { ...generated, description };
}

const problem = (description: string, headers?: Record<string, unknown>): Record<string, unknown> => ({
  description,
  ...(headers === undefined ? {} : { headers }),
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

/** The query parameters of a route, from the zod object the server parses the query with. */
function queryParameters(query: z.ZodObject): Record<string, unknown>[] {
  return Object.entries(query.shape).map(([name, schema]) => {
    const { $schema: _dialect, description, ...generated } = z.toJSONSchema(schema as z.ZodType, { target: 'draft-2020-12', io: 'output', unrepresentable: 'throw' }) as Record<string, unknown>;
    return { name, in: 'query', required: !(schema as z.ZodType).safeParse(undefined).success, description, schema: generated };
  });
}

const wwwAuthenticate = { 'WWW-Authenticate': { description: 'The scheme to use: `Bearer realm="loomwatch"`.', schema: { type: 'string' } } };

const resultId = { name: 'id', in: 'path', required: true, description: 'The `id` of an inference answer.', schema: { type: 'string', format: 'uuid' } };

function resultPath(contentType: string, what: string): Record<string, unknown> {
  return {
    get: {
      operationId: contentType === 'image/png' ? 'getAnomalyMap' : 'getOverlay',
      summary: what,
      parameters: [resultId],
      responses: {
        '200': { description: what, content: { [contentType]: { schema: { type: 'string', contentMediaType: contentType } } } },
        '401': problem('The bearer token is missing or not one the server is configured with (`UNAUTHORIZED`).', wwwAuthenticate),
        '404': problem('No such result, or it expired (`RESULT_NOT_FOUND`): only the last results are kept.'),
      },
    },
  };
}

/** The OpenAPI 3.1 document of the API, its schemas generated from the zod ones the server uses. */
export function openApiDocument(version: string): Record<string, unknown> {
  const image = { schema: { type: 'string', contentMediaType: 'application/octet-stream' } };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Loomwatch inference API',
      version,
      description:
        'One image in, its verdict out, for integration checks and tools that do not speak Kafka. Every `/v1/*` route needs a bearer token. Errors are RFC 9457 problem details with the stream workers\' error codes; any route answers a method it does not take with 405 (`METHOD_NOT_ALLOWED`, with `Allow`), an unknown path with 404 (`ROUTE_NOT_FOUND`), a client with too many requests under way with 429 (`CLIENT_BUSY`) and a request that is not sent in time with 408 (`REQUEST_TIMEOUT`).',
    },
    security: [{ bearer: [] }],
    paths: {
      '/v1/infer': {
        post: {
          operationId: 'infer',
          summary: 'Decide one image',
          parameters: queryParameters(InferQuery),
          requestBody: {
            required: true,
            description: 'The image bytes, 8-bit greyscale: the body itself, or the `image` part of a form.',
            content: {
              'image/png': image,
              'image/jpeg': image,
              'multipart/form-data': {
                schema: { type: 'object', required: ['image'], properties: { image: { type: 'string', contentMediaType: 'image/png' } } },
                encoding: { image: { contentType: 'image/png, image/jpeg, application/octet-stream' } },
              },
            },
          },
          responses: {
            '200': { description: 'The verdict', content: { 'application/json': { schema: { $ref: '#/components/schemas/InferenceVerdict' } } } },
            '400': problem('Empty or corrupt image, a form that cannot be parsed, or a bad, repeated or unknown query parameter — a `model` that is no registry `name` or `name@version` among them (`IMAGE_EMPTY`, `IMAGE_CORRUPT`, `MESSAGE_SCHEMA_VIOLATION`, `QUERY_INVALID`).'),
            '401': problem('The bearer token is missing or not one the server is configured with (`UNAUTHORIZED`).', wwwAuthenticate),
            '404': problem('The model is not in the registry (`MODEL_NOT_FOUND`).'),
            '413': problem('The body (`http.maxBodyBytes`) or the pixel count (`inference.limitInputPixels`) is over the limit (`IMAGE_TOO_LARGE`).'),
            '415': problem('Not an image/png, image/jpeg or multipart/form-data body, or an image part of another type (`IMAGE_UNSUPPORTED_FORMAT`).'),
            '422': problem('An image the model cannot take: colour, 16-bit, smaller than a tile (`IMAGE_CHANNELS_UNSUPPORTED`, `IMAGE_DEPTH_UNSUPPORTED`, `IMAGE_TOO_SMALL`).'),
            '429': problem('In-flight and queued requests are at their limits (`SATURATED`), or this client has `http.maxRequestsPerClient` requests under way (`CLIENT_BUSY`).', {
              'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 1 } },
            }),
            '500': problem('An internal failure (`INTERNAL`, `MODEL_RUN_FAILED`, …).'),
            '503': problem('A retryable failure, or the server is shutting down.'),
          },
        },
      },
      '/v1/results/{id}/anomaly-map.png': resultPath('image/png', 'The anomaly map, 8-bit grey PNG at the image size'),
      '/v1/results/{id}/overlay.jpg': resultPath('image/jpeg', 'The image with the map blended in and region boxes drawn (rendered on its first request)'),
      '/v1/overlays/{bucket}/{key}': {
        get: {
          operationId: 'getStreamOverlay',
          summary: "A stream verdict's overlay, by the verdict's `overlay` bucket and key (for links from an MES)",
          description:
            "The stored overlay, or — for a worker with `worker.overlays: on-request` — rendered from the verdict's anomaly map and frame on this first request and stored at that key. Served only from the buckets in `api.streamOverlays.buckets`; 404 `NOT_ENABLED` while that is empty.",
          parameters: [
            { name: 'bucket', in: 'path', required: true, description: "The verdict's `overlay.bucket`.", schema: { type: 'string' } },
            { name: 'key', in: 'path', required: true, description: "The verdict's `overlay.key` as it is, its `/` unescaped (`overlays/<model>/<version>/<line>/<camera>/<frame>.jpg`).", schema: { type: 'string' } },
          ],
          responses: {
            '200': { description: 'The overlay', content: { 'image/jpeg': { schema: { type: 'string', contentMediaType: 'image/jpeg' } }, 'image/png': { schema: { type: 'string', contentMediaType: 'image/png' } } } },
            '401': problem('The bearer token is missing or not one the server is configured with (`UNAUTHORIZED`).', wwwAuthenticate),
            '403': problem('A bucket the API does not serve, or a key with an empty, `.` or `..` segment (`OBJECT_NOT_ALLOWED`).'),
            '404': problem('Stream overlays are off (`NOT_ENABLED`), the key is not an overlay key (`OVERLAY_KEY_INVALID`), or its anomaly map, its frame or the map\'s overlay recipe is gone (`OVERLAY_MAP_MISSING`, `OVERLAY_FRAME_MISSING`, `OVERLAY_RECIPE_MISSING`).'),
            '409': problem('The frame was overwritten since it was decided (`OVERLAY_FRAME_CHANGED`).'),
            '422': problem('The anomaly map or its recipe is unreadable or does not fit the frame (`OVERLAY_RECIPE_INVALID`).'),
            '429': problem('`api.streamOverlays.maxConcurrentRenders` overlays are being rendered (`SATURATED`).', {
              'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 1 } },
            }),
          },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'openApi',
          summary: 'This document',
          security: [],
          responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } },
        },
      },
    },
    components: {
      schemas: {
        InferenceVerdict: component(InferenceVerdict, 'The contracts\' Verdict without the stream fields, with links to the pictures (they expire).'),
        Problem: component(Problem, 'RFC 9457 problem details; `code` is the stable error code.'),
      },
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'A token the server is configured with: `LOOMWATCH_API_TOKEN`, or one whose SHA-256 is in `api.tokenDigests`. Every `/v1/*` route needs one, unless the server runs with `api.auth: none` (a developer machine).',
        },
      },
    },
  };
}
