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

/** A message to produce. */
export interface OutboundMessage {
  topic: string;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}
