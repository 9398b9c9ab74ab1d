import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { LoomwatchError } from '@loomwatch/contracts';
import type { Logger } from '@loomwatch/observability';
import type { FollowOptions, PartitionRange, ReadOptions, RecordVisitor, Subscription, TopicReader } from '../ports.js';
import { KafkajsAdmin } from './admin.js';
import { toInboundRecord } from './records.js';

const idOf = (topic: string, partition: number): string => `${topic}/${partition}`;

export class KafkajsReader implements TopicReader {
  private readonly kafka: Kafka;
  private readonly logger: Logger | undefined;

  constructor(kafka: Kafka, logger: Logger | undefined) {
    this.kafka = kafka;
    this.logger = logger;
  }

  async readRanges(ranges: readonly PartitionRange[], visit: RecordVisitor, options: ReadOptions = {}): Promise<void> {
    const wanted = ranges.filter((range) => range.from < range.to);
    if (wanted.length === 0) return;
    const rangeOf = new Map(wanted.map((range) => [idOf(range.topic, range.partition), range]));
    const pending = new Set(rangeOf.keys());
    const idleTimeoutMs = options.idleTimeoutMs ?? 120_000;
    const groupId = `loomwatch-reader-${randomUUID()}`;
    const consumer = this.kafka.consumer({ groupId, readUncommitted: false, allowAutoTopicCreation: false });
    let lastProgress = Date.now();
    let finish!: () => void;
    let fail!: (error: Error) => void;
    const done = new Promise<void>((resolve, reject) => ((finish = resolve), (fail = reject)));
    // END_BATCH_PROCESS also fires for batches of aborted records and transaction markers, which
    // eachBatch never sees; a range ending in those still counts as read.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      lastProgress = Date.now();
      const id = idOf(payload.topic, payload.partition);
      const range = rangeOf.get(id);
      if (range !== undefined && Number(payload.lastOffset) + 1 >= range.to) pending.delete(id);
      if (pending.size === 0) finish();
    });
    const idle = setInterval(() => {
      if (Date.now() - lastProgress < idleTimeoutMs) return;
      const stuck = [...pending].map((id) => `${id} (to ${rangeOf.get(id)?.to})`).join(', ');
      fail(
        new LoomwatchError('BROKER_UNAVAILABLE', `no progress for ${idleTimeoutMs} ms reading ${stuck}: is a transaction still open, or the broker down?`, {
          retryable: true,
        }),
      );
    }, Math.min(1000, idleTimeoutMs));
    try {
      await consumer.connect();
      // From the beginning, not the end: until the seeks below apply, the consumer reads offsets
      // below a range (skipped), never ones past it, so the end of a range is never mistaken.
      await consumer.subscribe({ topics: [...new Set(wanted.map((range) => range.topic))], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const range = rangeOf.get(idOf(batch.topic, batch.partition));
          if (range === undefined || !pending.has(idOf(batch.topic, batch.partition))) return;
          for (const message of batch.messages) {
            const offset = Number(message.offset);
            if (offset < range.from || offset >= range.to) continue;
            if ((await visit(toInboundRecord(batch.topic, batch.partition, message))) === 'stop') {
              pending.clear();
              finish();
              return;
            }
          }
        },
      });
      for (const range of wanted) consumer.seek({ topic: range.topic, partition: range.partition, offset: String(range.from) });
      await done;
    } finally {
      clearInterval(idle);
      await consumer.disconnect();
      await new KafkajsAdmin(this.kafka).deleteGroup(groupId);
    }
  }

  async readToEnd(topics: readonly string[], visit: RecordVisitor, options: ReadOptions = {}): Promise<void> {
    const admin = new KafkajsAdmin(this.kafka);
    const ranges: PartitionRange[] = [];
    try {
      for (const topic of topics) {
        for (const { partition, low, high } of await admin.watermarks(topic)) ranges.push({ topic, partition, from: low, to: high });
      }
    } finally {
      await admin.close();
    }
    await this.readRanges(ranges, visit, options);
  }

  async follow(topic: string, visit: RecordVisitor, options: FollowOptions = {}): Promise<Subscription> {
    const fromBeginning = (options.from ?? 'beginning') === 'beginning';
    const pending = new Map<number, number>();
    if (fromBeginning) {
      const admin = new KafkajsAdmin(this.kafka);
      const ends = await admin.watermarks(topic).finally(() => admin.close());
      for (const { partition, low, high } of ends) if (high > low) pending.set(partition, high);
    }
    const consumer = this.kafka.consumer({ groupId: `loomwatch-follower.${topic}.${randomUUID()}`, readUncommitted: false });
    let caughtUp!: () => void;
    const ready = new Promise<void>((resolve) => (caughtUp = resolve));
    if (pending.size === 0) caughtUp();
    const settle = (partition: number, lastOffset: string): void => {
      const target = pending.get(partition);
      if (target !== undefined && Number(lastOffset) + 1 >= target) {
        pending.delete(partition);
        if (pending.size === 0) caughtUp();
      }
    };
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => settle(payload.partition, payload.lastOffset));

    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) await visit(toInboundRecord(topic, batch.partition, message));
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
    this.logger?.debug({ topic }, 'caught up with the topic');
    return { stop: () => consumer.disconnect() };
  }
}
