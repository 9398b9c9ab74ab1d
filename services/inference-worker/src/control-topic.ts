import type { Kafka } from 'kafkajs';
import { ensureTopics, type TopicSpec } from '@loomwatch/kafka';

/** The control plane's topic: one partition (one order for everything), compacted (the latest value per key is the state). */
export function controlTopicSpec(topic: string): TopicSpec {
  return { topic, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] };
}

/** Writes one control message (a deployment, a replay plan) and waits for every replica to have it. */
export async function publishControlMessage(
  kafka: Kafka,
  topic: string,
  message: { key: string; value: Buffer; headers?: Record<string, string> },
): Promise<void> {
  await ensureTopics(kafka, [controlTopicSpec(topic)]);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: [message] });
  } finally {
    await producer.disconnect();
  }
}
