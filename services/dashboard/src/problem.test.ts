import { describe, expect, it } from 'vitest';
import { LoomwatchError } from '@loomwatch/contracts';
import { toProblem as problemOf } from '@loomwatch/http';
import { HttpProblem, PROBLEMS } from './problem.js';

const toProblem = (thrown: unknown) => problemOf(thrown, PROBLEMS);

describe('problem details', () => {
  it('keeps an HTTP refusal\'s status, code and headers', () => {
    expect(toProblem(new HttpProblem('METHOD_NOT_ALLOWED', 405, 'use GET', { allow: 'GET, HEAD' }))).toEqual({
      status: 405,
      problem: { type: 'urn:loomwatch:problem:method-not-allowed', title: 'Method Not Allowed', status: 405, detail: 'use GET', code: 'METHOD_NOT_ALLOWED' },
      headers: { allow: 'GET, HEAD' },
    });
  });

  it('maps the taxonomy: a missing object is 404, brokers or S3 down 503, a retryable unknown 503', () => {
    expect(toProblem(new LoomwatchError('OBJECT_NOT_FOUND', 'gone')).status).toBe(404);
    expect(toProblem(new LoomwatchError('BROKER_UNAVAILABLE', 'down', { retryable: true })).status).toBe(503);
    expect(toProblem(new LoomwatchError('STORAGE_UNAVAILABLE', 'down')).status).toBe(503);
    expect(toProblem(new LoomwatchError('MODEL_RUN_FAILED', 'x', { retryable: true })).status).toBe(503);
  });

  it('tells a browser nothing of an unclassified error but where to look', () => {
    const { status, problem } = toProblem(new Error('ECONNREFUSED http://user:secret@10.0.0.1'));
    expect(status).toBe(500);
    expect(problem.code).toBe('INTERNAL');
    expect(problem.detail).not.toContain('secret');
    expect(problem.detail).toMatch(/log/);
  });
});
