import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { afterAll, inject } from 'vitest';
import { createKafka, ensureTopics, headersToStrings } from '@loomwatch/kafka';
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
  /**
   * The first `count` messages a read_committed consumer sees on `topic`, in partition order.
   * Messages arrive in offset order, so an aborted or duplicated one would take a later one's place.
   */
  readCommitted(topic: string, count: number): Promise<ReadMessage[]>;
}

export interface ReadMessage {
  partition: number;
  key: string | undefined;
  value: Buffer | null;
  headers: Record<string, string>;
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
    async readCommitted(topic, count) {
      const consumer = kafka.consumer({ groupId: uniqueName('reader'), readUncommitted: false });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const messages: ReadMessage[] = [];
      await new Promise<void>((resolve) => {
        void consumer.run({
          eachMessage: ({ partition, message }) => {
            if (messages.length < count) {
              messages.push({ partition, key: message.key?.toString(), value: message.value, headers: headersToStrings(message.headers) });
            }
            if (messages.length === count) resolve();
            return Promise.resolve();
          },
        });
      });
      await consumer.disconnect();
      return messages;
    },
  };
}
