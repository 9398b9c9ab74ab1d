import { LoomwatchError } from '@loomwatch/contracts';
import type { BrokerOffsets, KafkaClient } from '@loomwatch/kafka';

/** What a replay asks of the broker to plan: the input topic's existence, watermarks, offsets by time and its group's offsets. */
export interface ReplayBroker extends Pick<BrokerOffsets, 'watermarks' | 'offsetsAtTime' | 'committed' | 'setCommitted' | 'close'> {
  topicExists(topic: string): Promise<boolean>;
}

/** The broker offsets port, with a failure to position the replay group that tells the operator what to do. */
export function replayBroker(client: KafkaClient): ReplayBroker {
  const offsets = client.offsets();
  return {
    topicExists: async (topic) => (await client.topics.list()).includes(topic),
    watermarks: (topic) => offsets.watermarks(topic),
    offsetsAtTime: (topic, timeMs) => offsets.offsetsAtTime(topic, timeMs),
    committed: (groupId, topic) => offsets.committed(groupId, topic),
    async setCommitted(groupId, topic, partitions) {
      try {
        await offsets.setCommitted(groupId, topic, partitions);
      } catch (err) {
        throw new LoomwatchError(
          'REPLAY_INVALID',
          `could not set the start offsets of group ${groupId}: ${(err as Error).message}. Another run of this replay is running, ` +
            'or a killed one has not left the group yet: stop the other run, or wait for its session to time out (30 s) and run again',
          { cause: err, retryable: true },
        );
      }
    },
    close: () => offsets.close(),
  };
}
