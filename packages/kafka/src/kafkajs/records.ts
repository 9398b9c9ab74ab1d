import type { KafkaMessage, Message } from 'kafkajs';
import type { InboundRecord, OutboundMessage } from '../ports.js';

/** Kafka header values arrive as Buffers (or arrays of them); this flattens them to strings. */
export function headersToStrings(
  headers: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) out[name] = first.toString();
  }
  return out;
}

/** A kafkajs message of `topic`/`partition` as an `InboundRecord`. */
export function toInboundRecord(topic: string, partition: number, message: KafkaMessage): InboundRecord {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key?.toString(),
    value: message.value,
    headers: headersToStrings(message.headers),
    timestamp: message.timestamp,
  };
}

/** Messages grouped by topic, as kafkajs's `sendBatch` takes them. */
export function byTopic(messages: readonly OutboundMessage[]): { topic: string; messages: Message[] }[] {
  const grouped = new Map<string, Message[]>();
  for (const { topic, key, value, headers } of messages) {
    const list = grouped.get(topic) ?? [];
    list.push({ key, value, headers });
    grouped.set(topic, list);
  }
  return [...grouped].map(([topic, list]) => ({ topic, messages: list }));
}
