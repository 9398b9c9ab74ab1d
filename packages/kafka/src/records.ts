import type { KafkaMessage } from 'kafkajs';
import { headersToStrings } from './client.js';

/** A consumed message, detached from kafkajs types. */
export interface InboundRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string | undefined;
  value: Buffer | null;
  headers: Record<string, string>;
  /** Broker timestamp, ms since epoch, as kafkajs gives it. */
  timestamp: string;
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

/** A message to produce. */
export interface OutboundMessage {
  topic: string;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}
