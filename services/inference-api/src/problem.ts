import { z } from 'zod';
import type { ErrorCode } from '@loomwatch/contracts';
import { HttpProblem as Refusal, toProblem as problemFor, type ProblemMapping } from '@loomwatch/http';

/**
 * Codes of the API's own refusals, beside the worker's `LoomwatchError` codes and those of the
 * HTTP layer (`UNAUTHORIZED`, `ROUTE_NOT_FOUND`, `CLIENT_BUSY`, `REQUEST_TIMEOUT`, `BAD_REQUEST`).
 */
export const HTTP_ERROR_CODES = [
  'SATURATED',
  'RESULT_NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'QUERY_INVALID',
  'NOT_ENABLED',
  'OBJECT_NOT_ALLOWED',
  // a stream overlay that cannot be rendered (OverlayProblem of @loomwatch/overlay)
  'OVERLAY_KEY_INVALID',
  'OVERLAY_MAP_MISSING',
  'OVERLAY_FRAME_MISSING',
  'OVERLAY_FRAME_CHANGED',
  'OVERLAY_RECIPE_MISSING',
  'OVERLAY_RECIPE_INVALID',
] as const;
export type HttpErrorCode = (typeof HTTP_ERROR_CODES)[number];

/** An RFC 9457 problem details body (`application/problem+json`), with the stable error code. */
export const Problem = z.strictObject({
  type: z.string().min(1),
  title: z.string().min(1),
  status: z.int().min(400).max(599),
  detail: z.string(),
  code: z.string().min(1),
});
export type Problem = z.infer<typeof Problem>;

/** A refusal of the HTTP layer (auth, admission, routing), with one of its codes. */
export class HttpProblem extends Refusal {
  constructor(code: HttpErrorCode, status: number, message: string, headers: Record<string, string> = {}) {
    super(code, status, message, headers);
  }
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  MESSAGE_SCHEMA_VIOLATION: 400,
  IMAGE_EMPTY: 400,
  IMAGE_CORRUPT: 400,
  IMAGE_TOO_LARGE: 413,
  IMAGE_UNSUPPORTED_FORMAT: 415,
  IMAGE_CHANNELS_UNSUPPORTED: 422,
  IMAGE_DEPTH_UNSUPPORTED: 422,
  IMAGE_TOO_SMALL: 422,
  IMAGE_DIMENSIONS_MISMATCH: 422,
  MODEL_NOT_FOUND: 404,
};

/**
 * How the API's errors become statuses: image problems keep the worker's codes; an unknown error
 * is `INTERNAL` (500, its message only in the log), a retryable one 503.
 */
export const API_PROBLEMS: ProblemMapping = { statuses: STATUS, internalDetail: 'the inference API failed on this request; its log has the cause' };

/** Anything thrown while serving a request, as status + problem body + headers. */
export function toProblem(thrown: unknown): ReturnType<typeof problemFor> {
  return problemFor(thrown, API_PROBLEMS);
}
