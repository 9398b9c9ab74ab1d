import { z } from 'zod';
import { toLoomwatchError, type ErrorCode } from '@loomwatch/contracts';

/** Codes of the HTTP surface itself, beside the worker's `LoomwatchError` codes. */
export const HTTP_ERROR_CODES = ['UNAUTHORIZED', 'SATURATED', 'RESULT_NOT_FOUND', 'NOT_FOUND', 'METHOD_NOT_ALLOWED'] as const;
export type HttpErrorCode = (typeof HTTP_ERROR_CODES)[number];
export type ProblemCode = ErrorCode | HttpErrorCode;

/** An RFC 9457 problem details body (`application/problem+json`), with the stable error code. */
export const Problem = z.strictObject({
  type: z.string().min(1),
  title: z.string().min(1),
  status: z.int().min(400).max(599),
  detail: z.string(),
  code: z.string().min(1),
});
export type Problem = z.infer<typeof Problem>;

/** A refusal of the HTTP layer (auth, admission, routing), carrying its status and headers. */
export class HttpProblem extends Error {
  constructor(
    readonly code: HttpErrorCode,
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpProblem';
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

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** The problem type URI of a code: stable, so clients may switch on it as on `code`. */
export function problemType(code: ProblemCode): string {
  return `urn:loomwatch:problem:${code.toLowerCase().replaceAll('_', '-')}`;
}

/**
 * Anything thrown while serving a request, as status + problem body + headers. Image problems keep
 * the worker's codes; an unknown error is `INTERNAL` (500), a retryable one 503.
 */
export function toProblem(thrown: unknown): { status: number; problem: Problem; headers: Record<string, string> } {
  if (thrown instanceof HttpProblem) {
    return { status: thrown.status, problem: problemBody(thrown.code, thrown.status, thrown.message), headers: thrown.headers };
  }
  const error = toLoomwatchError(thrown);
  const status = STATUS[error.code] ?? (error.retryable ? 503 : 500);
  return { status, problem: problemBody(error.code, status, error.message), headers: {} };
}

function problemBody(code: ProblemCode, status: number, detail: string): Problem {
  return { type: problemType(code), title: TITLES[status] ?? 'Error', status, detail, code };
}
