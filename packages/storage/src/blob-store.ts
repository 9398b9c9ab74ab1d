import type { ObjectRef } from '@loomwatch/contracts';

/**
 * The object-store port. The core sees this, never an S3 client: one real adapter
 * (`S3BlobStore`) and an in-memory one for unit tests, both held to `blobStoreContract`.
 */
export interface BlobStore {
  /** Writes (or overwrites) an object. Keys are deterministic, so a retry overwrites. */
  put(ref: ObjectRef, body: Buffer, contentType?: string): Promise<void>;
  /** Reads a whole object; `OBJECT_NOT_FOUND` when it does not exist. */
  get(ref: ObjectRef): Promise<Buffer>;
  /** Size in bytes, or undefined when the object does not exist. */
  head(ref: ObjectRef): Promise<{ bytes: number } | undefined>;
  list(bucket: string, prefix?: string): Promise<string[]>;
  delete(ref: ObjectRef): Promise<void>;
  /** Creates the bucket unless it exists. */
  ensureBucket(bucket: string): Promise<void>;
  /** Deletes every object and the bucket (tests and resets). */
  removeBucket(bucket: string): Promise<void>;
  /** True when the store answers. */
  ping(): Promise<boolean>;
  close(): void;
}
