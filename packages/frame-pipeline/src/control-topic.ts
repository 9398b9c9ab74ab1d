import type { KafkaClient, TopicSpec } from '@loomwatch/kafka';

/** The control plane's topic: one partition (one order for everything), compacted (the latest value per key is the state). */
export function controlTopicSpec(topic: string): TopicSpec {
  return { topic, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] };
}

/** Writes one control message (a deployment, a replay plan) and waits for every replica to have it. */
export async function publishControlMessage(
  client: KafkaClient,
  topic: string,
  message: { key: string; value: Buffer; headers?: Record<string, string> },
): Promise<void> {
  await client.topics.ensure([controlTopicSpec(topic)]);
  const publisher = client.publisher();
  await publisher.connect();
  try {
    await publisher.send([{ topic, key: message.key, value: message.value, headers: message.headers ?? {} }]);
  } finally {
    await publisher.close();
  }
}
