import type { Message, MessageToProduce } from '@platformatic/kafka';
import type { InboundRecord, OutboundMessage } from '../ports.js';

/** A consumed message as an `InboundRecord`; header values are read as UTF-8 (the first of a repeated name wins). */
export function toInboundRecord(message: Message): InboundRecord {
  const headers: Record<string, string> = {};
  for (const [name, value] of message.headerEntries) {
    const key = name.toString();
    if (!(key in headers)) headers[key] = value.toString();
  }
  return {
    topic: message.topic,
    partition: message.partition,
    offset: message.offset.toString(),
    key: message.key?.toString(),
    value: message.value ?? null,
    headers,
    timestamp: message.timestamp.toString(),
  };
}

/** An `OutboundMessage` as the client sends it: keys, values and headers as Buffers. */
export function toProduced({ topic, key, value, headers }: OutboundMessage): MessageToProduce {
  return {
    topic,
    key: Buffer.from(key),
    value,
    headers: new Map(Object.entries(headers).map(([name, text]) => [Buffer.from(name), Buffer.from(text)])),
  };
}
