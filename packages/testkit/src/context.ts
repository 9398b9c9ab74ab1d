import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { afterAll, inject } from 'vitest';
import { createKafka, ensureTopics } from '@loomwatch/kafka';
import { S3BlobStore, type BlobStore } from '@loomwatch/storage';
import type { Infra } from './infra.js';

export interface TestInfraContext {
  infra: Infra;
  kafka: Kafka;
  store: BlobStore;
  /** A fresh topic, deleted after the file's tests. */
  topic(options?: { partitions?: number; prefix?: string }): Promise<string>;
  /** A fresh bucket, emptied and deleted after the file's tests. */
  bucket(prefix?: string): Promise<string>;
  /** A fresh consumer group id. */
  group(prefix?: string): string;
}

function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 12)}`;
}

/**
 * Call once at the top of an integration test file: clients for the provided infra and
 * factories for unique topics, buckets and groups, all cleaned up after the file.
 */
export function useTestInfra(): TestInfraContext {
  const infra = inject('infra');
  const kafka = createKafka({ brokers: infra.kafkaBrokers, clientId: uniqueName('test') });
  const store = new S3BlobStore(infra.s3);
  const topics: string[] = [];
  const buckets: string[] = [];

  afterAll(async () => {
    if (topics.length > 0) {
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteTopics({ topics }).catch(() => undefined);
      await admin.disconnect();
    }
    for (const bucket of buckets) await store.removeBucket(bucket);
    store.close();
  });

  return {
    infra,
    kafka,
    store,
    async topic(options = {}) {
      const topic = uniqueName(options.prefix ?? 'test');
      await ensureTopics(kafka, [{ topic, numPartitions: options.partitions ?? 1 }]);
      topics.push(topic);
      return topic;
    },
    async bucket(prefix = 'test') {
      const bucket = uniqueName(prefix).toLowerCase();
      await store.ensureBucket(bucket);
      buckets.push(bucket);
      return bucket;
    },
    group(prefix = 'test-group') {
      return uniqueName(prefix);
    },
  };
}
