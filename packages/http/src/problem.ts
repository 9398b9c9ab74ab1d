/**
 * RFC 9457 problem details (`application/problem+json`) for the HTTP services: every refusal
 * carries a stable `code` (a `LoomwatchError` code or one of the service's own HTTP codes) and a
 * `type` URI derived from it. Each service names the HTTP status of the error codes it passes on.
 */
import { toLoomwatchError, type ErrorCode } from '@loomwatch/contracts';

/** An RFC 9457 problem details body, with the stable error code. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
}

/** A refusal of the HTTP layer itself (routing, auth, admission, a query), carrying its status and headers. */
export class HttpProblem extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpProblem';
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  431: 'Request Header Fields Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/** The problem type URI of a code: stable, so clients may switch on it as on `code`. */
export function problemType(code: string): string {
  return `urn:loomwatch:problem:${code.toLowerCase().replaceAll('_', '-')}`;
}

export interface ProblemMapping {
  /** The HTTP status of each error code the service passes on; any other is 503 when retryable, else 500. */
  statuses: Partial<Record<ErrorCode, number>>;
  /** What a client reads of an unclassified (`INTERNAL`) error, whose message is for the log. @defaultValue its message */
  internalDetail?: string;
}

/** Anything thrown while serving a request, as status + problem body + headers. */
export function toProblem(thrown: unknown, mapping: ProblemMapping): { status: number; problem: Problem; headers: Record<string, string> } {
  if (thrown instanceof HttpProblem) {
    return { status: thrown.status, problem: problemBody(thrown.code, thrown.status, thrown.message), headers: thrown.headers };
  }
  const error = toLoomwatchError(thrown);
  const status = mapping.statuses[error.code] ?? (error.retryable ? 503 : 500);
  const detail = error.code === 'INTERNAL' && mapping.internalDetail !== undefined ? mapping.internalDetail : error.message;
  return { status, problem: problemBody(error.code, status, detail), headers: {} };
}

function problemBody(code: string, status: number, detail: string): Problem {
  return { type: problemType(code), title: TITLES[status] ?? 'Error', status, detail, code };
}
