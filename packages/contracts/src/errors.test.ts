import { describe, expect, it } from 'vitest';
import { LoomwatchError, isRetryable, toLoomwatchError } from './errors.js';

describe('error taxonomy', () => {
  it('marks only errors created retryable as retryable', () => {
    expect(isRetryable(new LoomwatchError('STORAGE_UNAVAILABLE', 'down', { retryable: true }))).toBe(true);
    expect(isRetryable(new LoomwatchError('IMAGE_CORRUPT', 'bad'))).toBe(false);
    expect(isRetryable(new Error('plain'))).toBe(false);
  });

  it('normalises anything thrown into an INTERNAL error that keeps the cause', () => {
    const cause = new TypeError('boom');
    const err = toLoomwatchError(cause);
    expect(err).toMatchObject({ code: 'INTERNAL', message: 'boom', retryable: false });
    expect(err.cause).toBe(cause);
    expect(toLoomwatchError('text').message).toBe('text');
  });
});
