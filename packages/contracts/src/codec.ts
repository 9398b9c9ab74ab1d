import type { z } from 'zod';
import { LoomwatchError } from './errors.js';
import { describeIssues, MISSING_IS_REQUIRED } from './issues.js';

/** Largest message value we accept or produce (Kafka's default max.message.bytes is 1 MB). */
export const MAX_MESSAGE_BYTES = 1_000_000;

/** Parses a message value strictly; a bad one is a typed, permanent error. */
export function decodeMessage<S extends z.ZodType>(schema: S, value: Buffer | string | null): z.infer<S> {
  if (value === null) throw new LoomwatchError('MESSAGE_NOT_JSON', 'message has no value (tombstone)');
  const bytes = typeof value === 'string' ? Buffer.byteLength(value) : value.length;
  if (bytes > MAX_MESSAGE_BYTES) {
    throw new LoomwatchError('MESSAGE_TOO_LARGE', `message is ${bytes} bytes; the limit is ${MAX_MESSAGE_BYTES}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch (err) {
    throw new LoomwatchError('MESSAGE_NOT_JSON', 'message value is not valid JSON', { cause: err });
  }
  const parsed = schema.safeParse(json, MISSING_IS_REQUIRED);
  if (!parsed.success) {
    throw new LoomwatchError('MESSAGE_SCHEMA_VIOLATION', `message does not match its schema: ${describeIssues(parsed.error.issues)}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

/** Validates before producing, so nothing malformed ever reaches a topic. */
export function encodeMessage<S extends z.ZodType>(schema: S, message: z.input<S>): Buffer {
  const parsed = schema.safeParse(message, MISSING_IS_REQUIRED);
  if (!parsed.success) {
    throw new LoomwatchError('MESSAGE_SCHEMA_VIOLATION', `refusing to produce an invalid message: ${describeIssues(parsed.error.issues)}`, {
      cause: parsed.error,
    });
  }
  const value = Buffer.from(JSON.stringify(parsed.data));
  if (value.length > MAX_MESSAGE_BYTES) {
    throw new LoomwatchError('MESSAGE_TOO_LARGE', `message is ${value.length} bytes; the limit is ${MAX_MESSAGE_BYTES}`);
  }
  return value;
}
