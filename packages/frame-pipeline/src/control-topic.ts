import { requireTopics, type KafkaClient } from '@loomwatch/kafka';

/**
 * Writes one control message (a deployment, a replay plan) and waits for every replica to have it.
 * The control topic (one partition, compacted: TOPIC_DECLARATIONS) must exist: `loomwatch topics apply` makes it.
 */
export async function publishControlMessage(
  client: KafkaClient,
  topic: string,
  message: { key: string; value: Buffer; headers?: Record<string, string> },
): Promise<void> {
  await requireTopics(client.topics, [topic]);
  const publisher = client.publisher();
  await publisher.connect();
  try {
    await publisher.send([{ topic, key: message.key, value: message.value, headers: message.headers ?? {} }]);
  } finally {
    await publisher.close();
  }
}
