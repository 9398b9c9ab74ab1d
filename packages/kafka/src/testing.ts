/**
 * Kafka for integration tests (`@loomwatch/kafka/testing`): a client on the broker the test run
 * provides, unique topics and groups, and read_committed reads that always go to the topic's end.
 *
 * Services only check that their topics exist; a test makes its own (`topic()`), and the declared
 * ones (frames.v1…, which a test may leave at their defaults) are created here when the broker
 * lacks them, as `loomwatch topics apply --profile dev` would — created only, never changed.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { TOPIC_PROFILES, topicSpecifications } from '@loomwatch/contracts';
import { testInfra, type Infra } from '@loomwatch/testkit';
import { sleep } from '@loomwatch/concurrency';
import { createKafkaClient } from './platformatic/client.js';
import { topicSpec } from './provisioning.js';
import type { InboundRecord, KafkaClient } from './ports.js';

export interface TestKafka {
  infra: Infra;
  client: KafkaClient;
  /** A fresh topic, deleted after the file's tests. */
  topic(options?: { partitions?: number; prefix?: string }): Promise<string>;
  /** A fresh consumer group id. */
  group(prefix?: string): string;
  /** Sends messages (idempotent producer, acks all). */
  publish(topic: string, messages: readonly { key?: string; value: string | Buffer; headers?: Record<string, string> }[]): Promise<void>;
  /**
   * Every committed record of `topic` up to its end, once it holds at least `atLeast` — so a
   * record committed after the expected ones (a duplicate) is seen too. Fails after `timeoutMs`.
   */
  readCommitted(topic: string, atLeast?: number, timeoutMs?: number): Promise<InboundRecord[]>;
}

function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 12)}`;
}

/** Call once at the top of an integration test file; topics it made are deleted after the file. */
export function useTestKafka(): TestKafka {
  const infra = testInfra();
  const client = createKafkaClient({ brokers: infra.kafkaBrokers, clientId: uniqueName('test') });
  const topics: string[] = [];
  beforeAll(async () => {
    await client.topics.ensure(topicSpecifications({ replication: TOPIC_PROFILES.dev }).map(topicSpec));
  });
  afterAll(async () => {
    await client.topics.delete(topics).catch(() => undefined);
  });

  const readAll = async (topic: string): Promise<InboundRecord[]> => {
    const records: InboundRecord[] = [];
    await client.reader.readToEnd([topic], (record) => void records.push(record), { idleTimeoutMs: 30_000 });
    return records.sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset));
  };

  return {
    infra,
    client,
    async topic(options = {}) {
      const topic = uniqueName(options.prefix ?? 'test');
      await client.topics.ensure([{ topic, numPartitions: options.partitions ?? 1 }]);
      topics.push(topic);
      return topic;
    },
    group: (prefix = 'test-group') => uniqueName(prefix),
    async publish(topic, messages) {
      const publisher = client.publisher();
      await publisher.connect();
      try {
        await publisher.send(
          messages.map(({ key, value, headers }) => ({ topic, key: key ?? '', value: Buffer.from(value), headers: headers ?? {} })),
        );
      } finally {
        await publisher.close();
      }
    },
    async readCommitted(topic, atLeast = 0, timeoutMs = 90_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const records = await readAll(topic);
        if (records.length >= atLeast) return records;
        if (Date.now() > deadline) throw new Error(`${topic} holds ${records.length} committed records after ${timeoutMs} ms, expected at least ${atLeast}`);
        await sleep(250);
      }
    },
  };
}
