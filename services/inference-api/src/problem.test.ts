import { describe, expect, it } from 'vitest';
import { ERROR_CODES, LoomwatchError, type ErrorCode } from '@loomwatch/contracts';
import { HttpProblem, Problem, toProblem } from './problem.js';

/** The status of every error code, as clients read it (a new code must be placed here). */
const STATUS_OF = {
  CONFIG_INVALID: 500,
  CONFIG_FILE_UNREADABLE: 500,
  MESSAGE_NOT_JSON: 500,
  MESSAGE_SCHEMA_VIOLATION: 400,
  MESSAGE_TOO_LARGE: 500,
  OBJECT_NOT_FOUND: 500,
  OBJECT_KEY_INVALID: 500,
  BUCKET_NOT_ALLOWED: 500,
  STORAGE_UNAVAILABLE: 500,
  IMAGE_NOT_FOUND: 500,
  IMAGE_EMPTY: 400,
  IMAGE_CORRUPT: 400,
  IMAGE_UNSUPPORTED_FORMAT: 415,
  IMAGE_CHANNELS_UNSUPPORTED: 422,
  IMAGE_DEPTH_UNSUPPORTED: 422,
  IMAGE_TOO_SMALL: 422,
  IMAGE_TOO_LARGE: 413,
  IMAGE_DIMENSIONS_MISMATCH: 422,
  IMAGE_CHECKSUM_MISMATCH: 500,
  MODEL_NOT_FOUND: 404,
  MODEL_CARD_INVALID: 500,
  MODEL_CHECKSUM_MISMATCH: 500,
  MODEL_SHAPE_MISMATCH: 500,
  MODEL_OPSET_UNSUPPORTED: 500,
  MODEL_RUN_FAILED: 500,
  BROKER_UNAVAILABLE: 500,
  BROKER_AUTH_FAILED: 500,
  BROKER_ACCESS_DENIED: 500,
  DEPLOYMENT_INVALID: 500,
  REPLAY_INVALID: 500,
  RETRAIN_INVALID: 500,
  REFIT_FAILED: 500,
  INTERNAL: 500,
} as const satisfies Record<ErrorCode, number>;

describe('toProblem', () => {
  it.each(ERROR_CODES.map((code) => [code, STATUS_OF[code]] as const))('answers %s with %i, keeping the code and a valid problem body', (code, status) => {
    const { status: got, problem } = toProblem(new LoomwatchError(code, 'what went wrong'));
    expect(got).toBe(status);
    expect(Problem.parse(problem)).toMatchObject({ status, code, type: `urn:loomwatch:problem:${code.toLowerCase().replaceAll('_', '-')}` });
    expect(problem.detail).toBe(code === 'INTERNAL' ? 'the inference API failed on this request; its log has the cause' : 'what went wrong');
  });

  it('answers a retryable failure with 503 and anything unknown with 500 INTERNAL, its message kept for the log', () => {
    expect(toProblem(new LoomwatchError('STORAGE_UNAVAILABLE', 'down', { retryable: true })).status).toBe(503);
    const { status, problem } = toProblem(new Error('boom at /srv/secret/path'));
    expect(status).toBe(500);
    expect(problem).toMatchObject({ code: 'INTERNAL', detail: 'the inference API failed on this request; its log has the cause' });
  });

  it('keeps the status and headers of an HTTP refusal', () => {
    const { status, problem, headers } = toProblem(new HttpProblem('SATURATED', 429, 'busy', { 'retry-after': '3' }));
    expect(status).toBe(429);
    expect(headers).toEqual({ 'retry-after': '3' });
    expect(problem).toMatchObject({ code: 'SATURATED', status: 429, title: 'Too Many Requests', detail: 'busy' });
  });
});
