import { describe, expect, it } from 'vitest';
import { ERROR_CODES, LoomwatchError } from '@loomwatch/contracts';
import { HttpProblem, Problem, toProblem } from './problem.js';

describe('toProblem', () => {
  it.each([
    ['IMAGE_TOO_LARGE', 413],
    ['IMAGE_UNSUPPORTED_FORMAT', 415],
    ['IMAGE_EMPTY', 400],
    ['IMAGE_CORRUPT', 400],
    ['IMAGE_CHANNELS_UNSUPPORTED', 422],
    ['IMAGE_DEPTH_UNSUPPORTED', 422],
    ['IMAGE_TOO_SMALL', 422],
    ['MODEL_NOT_FOUND', 404],
    ['MODEL_RUN_FAILED', 500],
  ] as const)('answers %s with %i and keeps the code', (code, status) => {
    const { status: got, problem } = toProblem(new LoomwatchError(code, 'what went wrong'));
    expect(got).toBe(status);
    expect(problem).toMatchObject({ status, code, detail: 'what went wrong' });
    expect(problem.type).toContain(code.toLowerCase().replaceAll('_', '-'));
  });

  it('gives every LoomwatchError code a valid problem body, 4xx or 5xx', () => {
    for (const code of ERROR_CODES) {
      const { status, problem } = toProblem(new LoomwatchError(code, 'x'));
      expect(Problem.parse(problem).status).toBe(status);
      expect(status).toBeGreaterThanOrEqual(400);
    }
  });

  it('answers a retryable failure with 503 and anything unknown with 500 INTERNAL', () => {
    expect(toProblem(new LoomwatchError('STORAGE_UNAVAILABLE', 'down', { retryable: true })).status).toBe(503);
    const { status, problem } = toProblem(new Error('boom'));
    expect(status).toBe(500);
    expect(problem.code).toBe('INTERNAL');
  });

  it('keeps the status and headers of an HTTP refusal', () => {
    const { status, problem, headers } = toProblem(new HttpProblem('SATURATED', 429, 'busy', { 'retry-after': '3' }));
    expect(status).toBe(429);
    expect(headers).toEqual({ 'retry-after': '3' });
    expect(problem).toMatchObject({ code: 'SATURATED', status: 429, title: 'Too Many Requests', detail: 'busy' });
  });
});
