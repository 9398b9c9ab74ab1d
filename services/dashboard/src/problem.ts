import { toLoomwatchError, type ErrorCode } from '@loomwatch/contracts';

/** Codes of the dashboard's HTTP surface, beside the `LoomwatchError` codes it passes on. */
export const HTTP_ERROR_CODES = [
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'QUERY_INVALID',
  'OBJECT_NOT_ALLOWED',
  'OBJECT_TOO_LARGE',
  'FRAME_NOT_FOUND',
  'TOO_MANY_CLIENTS',
  'PAGE_NOT_BUILT',
] as const;
export type HttpErrorCode = (typeof HTTP_ERROR_CODES)[number];
export type ProblemCode = ErrorCode | HttpErrorCode;

/** An RFC 9457 problem details body (`application/problem+json`) with the stable error code. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ProblemCode;
}

/** A refusal of the HTTP layer, carrying its status. */
export class HttpProblem extends Error {
  constructor(
    readonly code: HttpErrorCode | ErrorCode,
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpProblem';
  }
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  OBJECT_NOT_FOUND: 404,
  OBJECT_KEY_INVALID: 403,
  BUCKET_NOT_ALLOWED: 403,
  MESSAGE_SCHEMA_VIOLATION: 502,
  BROKER_UNAVAILABLE: 503,
  STORAGE_UNAVAILABLE: 503,
};

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Content Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

export function problemType(code: ProblemCode): string {
  return `urn:loomwatch:problem:${code.toLowerCase().replaceAll('_', '-')}`;
}

/** Anything thrown while serving a request, as status + problem body + headers. */
export function toProblem(thrown: unknown): { status: number; problem: Problem; headers: Record<string, string> } {
  if (thrown instanceof HttpProblem) {
    return { status: thrown.status, problem: problemBody(thrown.code, thrown.status, thrown.message), headers: thrown.headers };
  }
  const error = toLoomwatchError(thrown);
  const status = STATUS[error.code] ?? (error.retryable ? 503 : 500);
  // An unclassified error's message is for the log, not for a browser.
  const detail = error.code === 'INTERNAL' ? 'the dashboard failed to answer: its log has the error' : error.message;
  return { status, problem: problemBody(error.code, status, detail), headers: {} };
}

function problemBody(code: ProblemCode, status: number, detail: string): Problem {
  return { type: problemType(code), title: TITLES[status] ?? 'Error', status, detail, code };
}
