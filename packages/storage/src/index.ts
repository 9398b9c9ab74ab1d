export type { BlobStore } from './blob-store.js';
export { S3BlobStore, type S3BlobStoreConfig } from './s3-blob-store.js';
export { MemoryBlobStore } from './memory-blob-store.js';
