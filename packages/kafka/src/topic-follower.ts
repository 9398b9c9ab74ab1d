import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { LoomwatchError } from '@loomwatch/contracts';
import type { Logger } from '@loomwatch/observability';
import { toInboundRecord, type InboundRecord } from './records.js';

export interface TopicFollower {
  stop(): Promise<void>;
}

export interface FollowOptions {
  kafka: Kafka;
  topic: string;
  logger: Logger;
  /** Called for every record, in offset order per partition (committed records only). */
  onRecord: (record: InboundRecord) => void | Promise<void>;
  /** Give up if the topic's existing records are not read within this time. @defaultValue 30000 */
  catchUpTimeoutMs?: number;
}

/**
 * Reads a topic from the beginning — for a compacted topic, the latest value of every key — and
 * keeps following it. Resolves once every record the topic held when it was called has been
 * handed to `onRecord`, so the caller starts from a known state. Nothing is committed: each
 * follower has its own throw-away group and reads everything again on the next start.
 */
export async function followTopic(options: FollowOptions): Promise<TopicFollower> {
  const { kafka, topic, logger } = options;
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const pending = new Map(ends.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high)]));

  const consumer = kafka.consumer({ groupId: `loomwatch-follower.${topic}.${randomUUID()}`, readUncommitted: false });
  let caughtUp!: () => void;
  const ready = new Promise<void>((resolve) => (caughtUp = resolve));
  if (pending.size === 0) caughtUp();

  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages) {
        await options.onRecord(toInboundRecord(topic, batch.partition, message));
      }
      const target = pending.get(batch.partition);
      if (target !== undefined && BigInt(batch.lastOffset()) + 1n >= target) {
        pending.delete(batch.partition);
        if (pending.size === 0) caughtUp();
      }
    },
  });

  const timeoutMs = options.catchUpTimeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  const outcome = await Promise.race([ready.then(() => 'ready' as const), timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    await consumer.disconnect();
    throw new LoomwatchError('BROKER_UNAVAILABLE', `could not read ${topic} to its end within ${timeoutMs} ms: check the brokers`, {
      retryable: true,
    });
  }
  logger.debug({ topic }, 'caught up with the topic');
  return { stop: () => consumer.disconnect() };
}
