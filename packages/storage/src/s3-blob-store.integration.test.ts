import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aitexDir } from '@loomwatch/testkit';
import { useTestS3 } from './testing.js';
import { blobStoreContract } from './blob-store.contract.js';
import { S3BlobStore } from './s3-blob-store.js';

const s3 = useTestS3();

blobStoreContract('S3', () => new S3BlobStore(s3.infra.s3));

function sha256(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

describe('S3BlobStore on the real server', () => {
  it('lists and reads back an AITEX frame byte-exact', async () => {
    const bucket = await s3.bucket('frames');
    const frame = readFileSync(join(aitexDir(), 'defect/0001_002_00.png'));
    await s3.store.put({ bucket, key: 'line-1/cam-1/0001.png' }, frame, 'image/png');
    expect(await s3.store.list(bucket)).toEqual(['line-1/cam-1/0001.png']);
    const back = await s3.store.get({ bucket, key: 'line-1/cam-1/0001.png' });
    expect(back.length).toBe(frame.length);
    expect(sha256(back)).toBe(sha256(frame));
  });

  it('round-trips a 20 MB body through a multipart upload', async () => {
    const bucket = await s3.bucket('multipart');
    const store = new S3BlobStore({ ...s3.infra.s3, multipartThreshold: 5 * 1024 * 1024 });
    const body = randomBytes(20 * 1024 * 1024);
    await store.put({ bucket, key: 'big.bin' }, body);
    expect(await store.head({ bucket, key: 'big.bin' })).toEqual({ bytes: body.length });
    expect(sha256(await store.get({ bucket, key: 'big.bin' }))).toBe(sha256(body));
    store.close();
  });

  it('reports an unreachable server as a retryable STORAGE_UNAVAILABLE', async () => {
    const store = new S3BlobStore({ ...s3.infra.s3, endpoint: 'http://127.0.0.1:1', requestTimeoutMs: 2000 });
    await expect(store.get({ bucket: 'any-bucket', key: 'x' })).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      retryable: true,
    });
    expect(await store.ping()).toBe(false);
    store.close();
  });

  it('rejects wrong credentials without retrying', async () => {
    const store = new S3BlobStore({ ...s3.infra.s3, secretAccessKey: 'wrong-secret' });
    await expect(store.list('any-bucket')).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', retryable: false });
    store.close();
  });
});
