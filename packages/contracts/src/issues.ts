import type { z } from 'zod';

/**
 * Parse options for schemas people fill in (messages, query strings, config, registry files): a
 * missing field is reported as "required" instead of zod's "expected string, received undefined".
 */
export const MISSING_IS_REQUIRED: z.core.ParseContext<z.core.$ZodIssue> = {
  error: (issue) => (issue.code === 'invalid_type' && issue.input === undefined ? 'required' : undefined),
};

/** The first few issues as one line: `path: message; path: message` (`root` names an empty path). */
export function describeIssues(issues: readonly z.core.$ZodIssue[], root = '(root)', limit = 5): string {
  return issues
    .slice(0, limit)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : root}: ${issue.message}`)
    .join('; ');
}
