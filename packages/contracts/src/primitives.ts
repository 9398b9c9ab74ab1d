import { z } from 'zod';

/** Identifiers: short, printable, no `:` (the message key joins two with it) and no `/`. */
export const Id = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._-]+$/, 'use letters, digits, ".", "_" or "-"');

export const Timestamp = z.iso.datetime({ offset: true });

export const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a lower-case hex sha256');

export const BucketName = z
  .string()
  .min(3)
  .max(63)
  .regex(/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/, 'an S3 bucket name');

/** An object key: relative, no `..` segment, no leading `/`, printable. */
export const ObjectKey = z
  .string()
  .min(1)
  .max(1024)
  .refine((key) => !key.startsWith('/'), 'must be relative (no leading "/")')
  .refine((key) => !key.split('/').includes('..'), 'must not contain a ".." segment')
  .refine((key) => ![...key].some((ch) => ch < ' ' || ch === '\u007f' || ch === '\\'), 'must not contain control characters or "\\"');

export const ObjectRef = z.strictObject({ bucket: BucketName, key: ObjectKey });
export type ObjectRef = z.infer<typeof ObjectRef>;

export const Attributes = z
  .record(z.string().max(64), z.string().max(256))
  .refine((attrs) => Object.keys(attrs).length <= 32, 'at most 32 attributes');

/**
 * `record[key]` for a key the record itself holds, else undefined. Records parsed from messages
 * are plain objects: a fabric code or line id such as `constructor` must not find a prototype's.
 */
export function ownValue<T>(record: Readonly<Record<string, T>> | undefined, key: string | undefined): T | undefined {
  return record !== undefined && key !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}
