import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  it('doubles the ceiling per attempt up to the maximum', () => {
    const top = (): number => 1;
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay(attempt, { initialMs: 100, maxMs: 1000 }, top))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
  });

  it('spreads retries with jitter between zero and the ceiling', () => {
    expect(backoffDelay(3, { initialMs: 100 }, () => 0)).toBe(0);
    expect(backoffDelay(3, { initialMs: 100 }, () => 0.5)).toBe(200);
  });
});
