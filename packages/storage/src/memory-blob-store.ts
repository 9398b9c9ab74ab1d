import { LoomwatchError, type ObjectRef } from '@loomwatch/contracts';
import type { BlobStore } from './blob-store.js';

/** In-memory `BlobStore` for unit tests of pure logic; held to the same contract as S3. */
export class MemoryBlobStore implements BlobStore {
  private readonly buckets = new Map<string, Map<string, Buffer>>();

  private bucket(name: string): Map<string, Buffer> {
    const bucket = this.buckets.get(name);
    if (bucket === undefined) throw new LoomwatchError('OBJECT_NOT_FOUND', `bucket ${name} does not exist`);
    return bucket;
  }

  put(ref: ObjectRef, body: Buffer): Promise<void> {
    this.bucket(ref.bucket).set(ref.key, Buffer.from(body));
    return Promise.resolve();
  }

  get(ref: ObjectRef): Promise<Buffer> {
    const body = this.bucket(ref.bucket).get(ref.key);
    if (body === undefined) {
      return Promise.reject(new LoomwatchError('OBJECT_NOT_FOUND', `object s3://${ref.bucket}/${ref.key} does not exist`));
    }
    return Promise.resolve(Buffer.from(body));
  }

  head(ref: ObjectRef): Promise<{ bytes: number } | undefined> {
    const body = this.buckets.get(ref.bucket)?.get(ref.key);
    return Promise.resolve(body === undefined ? undefined : { bytes: body.length });
  }

  list(bucket: string, prefix = ''): Promise<string[]> {
    return Promise.resolve([...this.bucket(bucket).keys()].filter((key) => key.startsWith(prefix)).sort());
  }

  delete(ref: ObjectRef): Promise<void> {
    this.buckets.get(ref.bucket)?.delete(ref.key);
    return Promise.resolve();
  }

  ensureBucket(bucket: string): Promise<void> {
    if (!this.buckets.has(bucket)) this.buckets.set(bucket, new Map());
    return Promise.resolve();
  }

  removeBucket(bucket: string): Promise<void> {
    this.buckets.delete(bucket);
    return Promise.resolve();
  }

  ping(): Promise<boolean> {
    return Promise.resolve(true);
  }

  close(): void {}
}
