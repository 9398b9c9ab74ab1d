import { z } from 'zod';
import { ERROR_CODES } from './errors.js';
import { Timestamp } from './primitives.js';

/** A frame that could not be decided, published on `frames.dlq.v1` with the reason. */
export const DeadLetter = z.strictObject({
  /** The original message value, as UTF-8 text (or base64 when it was not valid UTF-8). */
  /** Truncated to 900,000 characters so the dead letter itself fits a Kafka message. */
  originalValue: z.string().max(900_000),
  originalValueEncoding: z.enum(['utf8', 'base64']),
  originalHeaders: z.record(z.string().max(256), z.string().max(4096)),
  originalTopic: z.string().min(1).max(249),
  originalPartition: z.int().nonnegative(),
  originalOffset: z.string().regex(/^\d+$/),
  reason: z.strictObject({
    code: z.enum(ERROR_CODES),
    message: z.string().max(4096),
  }),
  attempts: z.int().positive(),
  workerId: z.string().min(1).max(128),
  failedAt: Timestamp,
});
export type DeadLetter = z.infer<typeof DeadLetter>;
