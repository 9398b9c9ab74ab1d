import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { LoomwatchError, type ObjectRef } from '@loomwatch/contracts';
import type { BlobStore } from './blob-store.js';

export interface S3BlobStoreConfig {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** @defaultValue true */
  forcePathStyle?: boolean;
  /** Bodies larger than this go up as a multipart upload. @defaultValue 16 MiB */
  multipartThreshold?: number;
  /** Per-request timeout in ms. @defaultValue 10000 */
  requestTimeoutMs?: number;
}

const MULTIPART_PART_SIZE = 8 * 1024 * 1024;

function statusOf(err: unknown): number | undefined {
  return err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined;
}

function isNotFound(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchBucket' || statusOf(err) === 404;
}

/** Maps S3 and network failures onto the error taxonomy: 5xx and transport errors are retryable. */
function storageError(err: unknown, what: string): LoomwatchError {
  if (err instanceof LoomwatchError) return err;
  if (isNotFound(err)) return new LoomwatchError('OBJECT_NOT_FOUND', `${what}: not found`, { cause: err });
  const status = statusOf(err);
  const retryable = status === undefined || status >= 500 || status === 429 || status === 408;
  const reason = err instanceof Error ? err.message : String(err);
  return new LoomwatchError(
    'STORAGE_UNAVAILABLE',
    `${what} failed${status === undefined ? '' : ` (HTTP ${status})`}: ${reason} — check that the S3 endpoint is up and the credentials are right`,
    { cause: err, retryable },
  );
}

/** The socket was closed under the request: a pooled connection the server had just dropped, say. */
function isConnectionReset(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}

/** The real `BlobStore`, over any S3 API (AWS, MinIO, S3Proxy). */
export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly multipartThreshold: number;

  constructor(config: S3BlobStoreConfig) {
    this.client = new S3Client({
      endpoint: config.endpoint,
      region: config.region,
      credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
      forcePathStyle: config.forcePathStyle ?? true,
      // Newer SDKs default to aws-chunked trailer checksums, which non-AWS servers may
      // store corrupted; only checksum when the API requires it.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 1,
      requestHandler: { requestTimeout: config.requestTimeoutMs ?? 10_000, connectionTimeout: 3_000 },
    });
    // Callers retry with backoff (maxAttempts 1), but a request that meets a reset connection is
    // sent again once at once: a keep-alive socket the server closed as it was reused (seen under
    // load with S3Proxy) says nothing about the server. Every request here is idempotent.
    this.client.middlewareStack.add(
      (next) => async (args) => {
        try {
          return await next(args);
        } catch (err) {
          if (!isConnectionReset(err)) throw err;
          return next(args);
        }
      },
      { step: 'finalizeRequest', name: 'resendOnConnectionReset' },
    );
    this.multipartThreshold = config.multipartThreshold ?? 16 * 1024 * 1024;
  }

  async put(ref: ObjectRef, body: Buffer, contentType = 'application/octet-stream'): Promise<void> {
    try {
      if (body.length > this.multipartThreshold) {
        await new Upload({
          client: this.client,
          params: { Bucket: ref.bucket, Key: ref.key, Body: body, ContentType: contentType },
          partSize: MULTIPART_PART_SIZE,
          queueSize: 2,
        }).done();
        return;
      }
      await this.client.send(
        new PutObjectCommand({
          Bucket: ref.bucket,
          Key: ref.key,
          Body: body,
          ContentType: contentType,
          ContentLength: body.length,
        }),
      );
    } catch (err) {
      throw storageError(err, `put s3://${ref.bucket}/${ref.key}`);
    }
  }

  async get(ref: ObjectRef): Promise<Buffer> {
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: ref.bucket, Key: ref.key }));
      if (response.Body === undefined) throw new Error('empty response body');
      return Buffer.from(await response.Body.transformToByteArray());
    } catch (err) {
      throw storageError(err, `get s3://${ref.bucket}/${ref.key}`);
    }
  }

  async head(ref: ObjectRef): Promise<{ bytes: number } | undefined> {
    try {
      const response = await this.client.send(new HeadObjectCommand({ Bucket: ref.bucket, Key: ref.key }));
      return { bytes: response.ContentLength ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw storageError(err, `head s3://${ref.bucket}/${ref.key}`);
    }
  }

  async list(bucket: string, prefix = ''): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    } catch (err) {
      throw storageError(err, `list s3://${bucket}/${prefix}`);
    }
    return keys.sort();
  }

  async delete(ref: ObjectRef): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: ref.bucket, Key: ref.key }));
    } catch (err) {
      if (!isNotFound(err)) throw storageError(err, `delete s3://${ref.bucket}/${ref.key}`);
    }
  }

  async ensureBucket(bucket: string): Promise<void> {
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name === 'BucketAlreadyOwnedByYou' || name === 'BucketAlreadyExists' || statusOf(err) === 409) return;
      throw storageError(err, `create bucket ${bucket}`);
    }
  }

  async removeBucket(bucket: string): Promise<void> {
    let keys: string[];
    try {
      keys = await this.list(bucket);
    } catch (err) {
      if (err instanceof LoomwatchError && err.code === 'OBJECT_NOT_FOUND') return;
      throw err;
    }
    try {
      // One by one: DeleteObjects needs a request checksum that not every S3 server accepts.
      for (const key of keys) await this.delete({ bucket, key });
      await this.client.send(new DeleteBucketCommand({ Bucket: bucket }));
    } catch (err) {
      if (!isNotFound(err)) throw storageError(err, `remove bucket ${bucket}`);
    }
  }

  async ping(): Promise<boolean> {
    try {
      await this.client.send(new ListBucketsCommand({}));
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    this.client.destroy();
  }
}
