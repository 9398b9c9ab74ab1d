import type { ErrorCode } from '@loomwatch/contracts';
import { HttpProblem as Refusal, type Problem, type ProblemMapping } from '@loomwatch/http';

export type { Problem };

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
  'UNAUTHORIZED',
  'FORBIDDEN',
  'CSRF_REFUSED',
  'NO_ROLE',
  'LOGIN_FAILED',
  'LOGIN_EXPIRED',
  'IDENTITY_PROVIDER_UNAVAILABLE',
  'BODY_INVALID',
  'NO_DEPLOYMENT',
  'VERDICT_NOT_FOUND',
  'LABEL_INVALID',
  'FEEDBACK_ID_REUSED',
  'FEEDBACK_NOT_READY',
  'RETRAIN_NOT_FOUND',
  'RETRAIN_NOT_PROMOTABLE',
  'RETRAIN_PENDING',
  // an overlay rendered on first request that cannot be (see OverlayProblem of @loomwatch/overlay)
  'OVERLAY_KEY_INVALID',
  'OVERLAY_MAP_MISSING',
  'OVERLAY_FRAME_MISSING',
  'OVERLAY_FRAME_CHANGED',
  'OVERLAY_RECIPE_MISSING',
  'OVERLAY_RECIPE_INVALID',
] as const;
export type HttpErrorCode = (typeof HTTP_ERROR_CODES)[number];

/** A refusal of the dashboard's HTTP layer, with one of its codes or a `LoomwatchError` code. */
export class HttpProblem extends Refusal {
  constructor(code: HttpErrorCode | ErrorCode, status: number, message: string, headers: Record<string, string> = {}) {
    super(code, status, message, headers);
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

/** How the dashboard's errors become statuses; an unclassified error's message stays in the log. */
export const PROBLEMS: ProblemMapping = { statuses: STATUS, internalDetail: 'the dashboard failed to answer: its log has the error' };

