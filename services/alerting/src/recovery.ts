/**
 * Rebuilding the alerting state from Kafka at start: the alerts topic says which episodes are
 * open or cooling down; a bounded re-read of the inputs before the group's committed offsets
 * rebuilds the windows. Nothing is sent while rebuilding.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { sleep, toInboundRecord, type InboundRecord } from '@loomwatch/kafka';
import type { Logger } from '@loomwatch/observability';

export interface PartitionRange {
  partition: number;
  /** First offset to read. */
  from: bigint;
  /** Offset to stop before. */
  to: bigint;
}

/**
 * Aborts whatever transactions a previous instance left open, by initialising its transactional
 * ids: a read_committed re-read would otherwise wait for them to time out.
 */
export async function fenceTransactionalIds(kafka: Kafka, ids: readonly string[]): Promise<void> {
  await Promise.all(
    ids.map(async (transactionalId) => {
      const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      await producer.disconnect();
    }),
  );
}

/** The group coordinator of a group nobody has used yet answers "not the coordinator" for a while. */
async function retrying<T>(call: () => Promise<T>, attempts = 30): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const retriable = typeof err === 'object' && err !== null && 'retriable' in err && err.retriable === true;
      if (!retriable || attempt >= attempts) throw err;
      await sleep(Math.min(1000, 50 * attempt));
    }
  }
}

/** Per partition: from `max(low, end - back)` to `end`, where `end` is the group's committed offset (or `high`). */
export async function rangesBefore(kafka: Kafka, topic: string, groupId: string | undefined, back: number): Promise<PartitionRange[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const committed = new Map<number, bigint>();
    if (groupId !== undefined) {
      const [fetched] = await retrying(() => admin.fetchOffsets({ groupId, topics: [topic] }));
      for (const partition of fetched?.partitions ?? []) {
        if (BigInt(partition.offset) >= 0n) committed.set(partition.partition, BigInt(partition.offset));
      }
    }
    return offsets.flatMap((partition) => {
      const low = BigInt(partition.low);
      const end = groupId === undefined ? BigInt(partition.high) : (committed.get(partition.partition) ?? low);
      const from = end - BigInt(back) > low ? end - BigInt(back) : low;
      return from < end ? [{ partition: partition.partition, from, to: end }] : [];
    });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Reads committed records of `topic` in the given ranges (read_committed, a throwaway group).
 * A range may end in aborted records that never show up, so a partition also counts as done
 * once it has been idle for `idleMs` after reading what it could.
 */
export async function readRanges(
  kafka: Kafka,
  topic: string,
  ranges: readonly PartitionRange[],
  logger: Logger,
  idleMs = 3000,
): Promise<InboundRecord[]> {
  if (ranges.length === 0) return [];
  const records: InboundRecord[] = [];
  const pending = new Map(ranges.map((range) => [range.partition, range]));
  const consumer = kafka.consumer({ groupId: `loomwatch-restore-${randomUUID()}`, readUncommitted: false });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let lastProgress = Date.now();
    let assigned = false;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      assigned = true;
      for (const range of ranges) consumer.seek({ topic, partition: range.partition, offset: range.from.toString() });
    });
    await consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        const range = pending.get(batch.partition);
        if (range === undefined) return Promise.resolve();
        for (const message of batch.messages) {
          const offset = BigInt(message.offset);
          if (offset < range.from || offset >= range.to) continue;
          records.push(toInboundRecord(topic, batch.partition, message));
        }
        lastProgress = Date.now();
        if (BigInt(batch.lastOffset()) >= range.to - 1n) pending.delete(batch.partition);
        return Promise.resolve();
      },
    });
    const started = Date.now();
    while (pending.size > 0) {
      if (assigned && Date.now() - lastProgress > idleMs) break;
      if (Date.now() - started > 120_000) throw new Error(`re-reading ${topic} took longer than 120 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    logger.info({ topic, records: records.length, ranges: ranges.map((r) => ({ ...r, from: String(r.from), to: String(r.to) })) }, 're-read for restore');
    return records;
  } finally {
    await consumer.disconnect();
  }
}
