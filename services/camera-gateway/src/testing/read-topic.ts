import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { headersToStrings } from '@loomwatch/kafka';

export interface ReadMessage {
  partition: number;
  offset: string;
  key: string | undefined;
  value: Buffer | null;
  headers: Record<string, string>;
}

/**
 * Every message on the topic up to the high watermarks of now, in offset order per partition.
 * For tests: it reads with a throwaway group and waits until each partition's end is reached.
 */
export async function readWholeTopic(kafka: Kafka, topic: string, timeoutMs = 60_000): Promise<ReadMessage[]> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(offsets.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high) - 1n]));
  const out: ReadMessage[] = [];
  if (remaining.size === 0) return out;
  const consumer = kafka.consumer({ groupId: `read-${randomUUID()}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${topic} took over ${timeoutMs} ms`)), timeoutMs);
      void consumer.run({
        autoCommit: false,
        eachMessage: ({ partition, message }) => {
          const last = remaining.get(partition);
          if (last !== undefined && BigInt(message.offset) <= last) {
            out.push({ partition, offset: message.offset, key: message.key?.toString(), value: message.value, headers: headersToStrings(message.headers) });
            if (BigInt(message.offset) === last) remaining.delete(partition);
            if (remaining.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          }
          return Promise.resolve();
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}
