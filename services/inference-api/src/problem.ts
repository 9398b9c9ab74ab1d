import { z } from 'zod';
import type { ErrorCode } from '@loomwatch/contracts';
import { HttpProblem as Refusal, toProblem as problemFor } from '@loomwatch/http';

/** Codes of the HTTP surface itself, beside the worker's `LoomwatchError` codes. */
export const HTTP_ERROR_CODES = ['UNAUTHORIZED', 'SATURATED', 'RESULT_NOT_FOUND', 'NOT_FOUND', 'METHOD_NOT_ALLOWED', 'QUERY_INVALID'] as const;
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
 * Anything thrown while serving a request, as status + problem body + headers. Image problems keep
 * the worker's codes; an unknown error is `INTERNAL` (500), a retryable one 503.
 */
export function toProblem(thrown: unknown): ReturnType<typeof problemFor> {
  return problemFor(thrown, { statuses: STATUS });
}
