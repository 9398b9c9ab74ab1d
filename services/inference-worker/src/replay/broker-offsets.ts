import type { Admin, Kafka } from 'kafkajs';
import { LoomwatchError } from '@loomwatch/contracts';
import type { Watermarks } from './plan.js';

/** The broker's side of replay planning: topics, watermarks, offsets by time and a group's offsets. */
export interface BrokerOffsets {
  topicExists(topic: string): Promise<boolean>;
  watermarks(topic: string): Promise<Watermarks[]>;
  /** The first offset of each partition whose record time is at or after `time` (the high watermark when none is). */
  offsetsAtTime(topic: string, time: Date): Promise<Map<number, number>>;
  /** The group's committed offsets, for the partitions that have one. */
  committed(groupId: string, topic: string): Promise<Map<number, number>>;
  /** Commits `offsets` for a group that has no running member. */
  setCommitted(groupId: string, topic: string, offsets: ReadonlyMap<number, number>): Promise<void>;
  close(): Promise<void>;
}

export async function connectBrokerOffsets(kafka: Kafka): Promise<BrokerOffsets> {
  const admin: Admin = kafka.admin();
  await admin.connect();
  return {
    async topicExists(topic) {
      return (await admin.listTopics()).includes(topic);
    },
    async watermarks(topic) {
      return (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, low: Number(p.low), high: Number(p.high) }));
    },
    async offsetsAtTime(topic, time) {
      const offsets = await admin.fetchTopicOffsetsByTimestamp(topic, time.getTime());
      return new Map(offsets.map((p) => [p.partition, Number(p.offset)]));
    },
    async committed(groupId, topic) {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return new Map((offsets?.partitions ?? []).filter((p) => Number(p.offset) >= 0).map((p) => [p.partition, Number(p.offset)]));
    },
    async setCommitted(groupId, topic, offsets) {
      try {
        await admin.setOffsets({ groupId, topic, partitions: [...offsets].map(([partition, offset]) => ({ partition, offset: String(offset) })) });
      } catch (err) {
        throw new LoomwatchError(
          'REPLAY_INVALID',
          `could not set the start offsets of group ${groupId}: ${(err as Error).message}. Another run of this replay is running, ` +
            'or a killed one has not left the group yet: stop the other run, or wait for its session to time out (30 s) and run again',
          { cause: err, retryable: true },
        );
      }
    },
    close: () => admin.disconnect(),
  };
}
