import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeIssues, MISSING_IS_REQUIRED } from './issues.js';

const Schema = z.strictObject({ seq: z.string(), n: z.number().int().optional(), a: z.object({ b: z.string() }) });

describe('MISSING_IS_REQUIRED', () => {
  it('says required for a missing field, at any depth, and leaves other issues as zod words them', () => {
    const parsed = Schema.safeParse({ n: 1.5, a: {} }, MISSING_IS_REQUIRED);
    expect(parsed.success).toBe(false);
    expect(describeIssues(parsed.error?.issues ?? [])).toBe('seq: required; n: Invalid input: expected int, received number; a.b: required');
  });

  it('does not call a present value of the wrong type missing', () => {
    const parsed = Schema.safeParse({ seq: 42, a: { b: 'x' } }, MISSING_IS_REQUIRED);
    expect(describeIssues(parsed.error?.issues ?? [])).toBe('seq: Invalid input: expected string, received number');
  });
});

describe('describeIssues', () => {
  it('names an empty path by the root given and keeps the first issues only', () => {
    const parsed = z.array(z.string()).safeParse([1, 2, 3], MISSING_IS_REQUIRED);
    expect(describeIssues(parsed.error?.issues ?? [], '(query)', 2)).toBe('0: Invalid input: expected string, received number; 1: Invalid input: expected string, received number');
    const root = z.string().safeParse(7, MISSING_IS_REQUIRED);
    expect(describeIssues(root.error?.issues ?? [], '(query)')).toBe('(query): Invalid input: expected string, received number');
  });
});
