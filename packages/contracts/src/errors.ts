/**
 * The error taxonomy. Every error Loomwatch raises on purpose is a `LoomwatchError`
 * with a stable `code` from `ERROR_CODES`; anything else thrown is normalised with
 * `toLoomwatchError` at the boundary. `retryable` decides retry vs dead letter.
 */
export const ERROR_CODES = [
  // configuration and start-up
  'CONFIG_INVALID',
  'CONFIG_FILE_UNREADABLE',
  // messages
  'MESSAGE_NOT_JSON',
  'MESSAGE_SCHEMA_VIOLATION',
  'MESSAGE_TOO_LARGE',
  // object storage
  'OBJECT_NOT_FOUND',
  'OBJECT_KEY_INVALID',
  'BUCKET_NOT_ALLOWED',
  'STORAGE_UNAVAILABLE',
  // images
  'IMAGE_NOT_FOUND',
  'IMAGE_EMPTY',
  'IMAGE_CORRUPT',
  'IMAGE_UNSUPPORTED_FORMAT',
  'IMAGE_CHANNELS_UNSUPPORTED',
  'IMAGE_DEPTH_UNSUPPORTED',
  'IMAGE_TOO_SMALL',
  'IMAGE_TOO_LARGE',
  'IMAGE_DIMENSIONS_MISMATCH',
  'IMAGE_CHECKSUM_MISMATCH',
  // models
  'MODEL_NOT_FOUND',
  'MODEL_CARD_INVALID',
  'MODEL_CHECKSUM_MISMATCH',
  'MODEL_SHAPE_MISMATCH',
  'MODEL_OPSET_UNSUPPORTED',
  'MODEL_RUN_FAILED',
  // messaging
  'BROKER_UNAVAILABLE',
  'BROKER_AUTH_FAILED',
  'BROKER_ACCESS_DENIED',
  // control plane: deployments, replays and retrains
  'DEPLOYMENT_INVALID',
  'REPLAY_INVALID',
  'RETRAIN_INVALID',
  'REFIT_FAILED',
  // anything not classified
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface LoomwatchErrorOptions {
  cause?: unknown;
  /** Transient failures (a server down, a timeout) are retried; the rest are final. */
  retryable?: boolean;
  details?: Record<string, unknown>;
}

export class LoomwatchError extends Error {
  override readonly name = 'LoomwatchError';
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: LoomwatchErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details ?? {};
  }

  toJSON(): { code: ErrorCode; message: string; retryable: boolean } {
    return { code: this.code, message: this.message, retryable: this.retryable };
  }
}

export function isLoomwatchError(err: unknown): err is LoomwatchError {
  return err instanceof LoomwatchError;
}

export function isRetryable(err: unknown): boolean {
  return isLoomwatchError(err) && err.retryable;
}

/** Normalises anything thrown into a `LoomwatchError` (unknown errors become `INTERNAL`). */
export function toLoomwatchError(err: unknown): LoomwatchError {
  if (isLoomwatchError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new LoomwatchError('INTERNAL', message, { cause: err });
}
