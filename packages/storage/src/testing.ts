/** S3 for integration tests (`@loomwatch/storage/testing`): a store on the server the test run provides, and unique buckets. */
import { randomUUID } from 'node:crypto';
import { afterAll } from 'vitest';
import { testInfra, type Infra } from '@loomwatch/testkit';
import type { BlobStore } from './blob-store.js';
import { S3BlobStore } from './s3-blob-store.js';

export interface TestS3 {
  infra: Infra;
  store: BlobStore;
  /** A fresh bucket, emptied and deleted after the file's tests. */
  bucket(prefix?: string): Promise<string>;
}

/** Call once at the top of an integration test file. */
export function useTestS3(): TestS3 {
  const infra = testInfra();
  const store = new S3BlobStore(infra.s3);
  const buckets: string[] = [];
  afterAll(async () => {
    for (const bucket of buckets) await store.removeBucket(bucket);
    store.close();
  });
  return {
    infra,
    store,
    async bucket(prefix = 'test') {
      const bucket = `${prefix}-${randomUUID().slice(0, 12)}`.toLowerCase();
      await store.ensureBucket(bucket);
      buckets.push(bucket);
      return bucket;
    },
  };
}
