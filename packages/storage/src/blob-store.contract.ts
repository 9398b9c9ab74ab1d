import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlobStore } from './blob-store.js';

/** The behaviour every `BlobStore` adapter must show; run against the real S3 and the fake. */
export function blobStoreContract(name: string, makeStore: () => BlobStore | Promise<BlobStore>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let store: BlobStore;
    const bucket = `contract-${randomUUID().slice(0, 8)}`;

    beforeAll(async () => {
      store = await makeStore();
      await store.ensureBucket(bucket);
    });
    afterAll(async () => {
      await store.removeBucket(bucket);
      store.close();
    });

    it('reads back exactly the bytes it stored', async () => {
      const body = randomBytes(100_000);
      await store.put({ bucket, key: 'a/b/blob.bin' }, body);
      expect((await store.get({ bucket, key: 'a/b/blob.bin' })).equals(body)).toBe(true);
      expect(await store.head({ bucket, key: 'a/b/blob.bin' })).toEqual({ bytes: body.length });
    });

    it('overwrites an object put twice under the same key', async () => {
      await store.put({ bucket, key: 'same' }, Buffer.from('first'));
      await store.put({ bucket, key: 'same' }, Buffer.from('second'));
      expect((await store.get({ bucket, key: 'same' })).toString()).toBe('second');
    });

    it('reports a missing object as OBJECT_NOT_FOUND', async () => {
      await expect(store.get({ bucket, key: 'missing' })).rejects.toMatchObject({ code: 'OBJECT_NOT_FOUND' });
      expect(await store.head({ bucket, key: 'missing' })).toBeUndefined();
    });

    it('lists keys under a prefix, sorted', async () => {
      await store.put({ bucket, key: 'list/2' }, Buffer.from('2'));
      await store.put({ bucket, key: 'list/1' }, Buffer.from('1'));
      await store.put({ bucket, key: 'other' }, Buffer.from('x'));
      expect(await store.list(bucket, 'list/')).toEqual(['list/1', 'list/2']);
    });

    it('deletes an object, and deleting a missing one is harmless', async () => {
      await store.put({ bucket, key: 'gone' }, Buffer.from('x'));
      await store.delete({ bucket, key: 'gone' });
      await store.delete({ bucket, key: 'gone' });
      expect(await store.head({ bucket, key: 'gone' })).toBeUndefined();
    });

    it('creates a bucket idempotently', async () => {
      await store.ensureBucket(bucket);
      expect(await store.ping()).toBe(true);
    });
  });
}
