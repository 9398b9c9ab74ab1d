/**
 * Rebuilding the alerting state from Kafka at start: the alerts topic says which episodes are
 * open or cooling down; a bounded re-read of the inputs before the group's committed offsets
 * rebuilds the windows. Nothing is sent while rebuilding.
 */
import type { InboundRecord, KafkaClient, PartitionRange } from '@loomwatch/kafka';
import type { Logger } from '@loomwatch/observability';

/**
 * Aborts whatever transactions a previous instance left open, by initialising its transactional
 * ids: a read_committed re-read would otherwise wait for them to time out.
 */
export async function fenceTransactionalIds(client: KafkaClient, ids: readonly string[]): Promise<void> {
  await Promise.all(
    ids.map(async (transactionalId) => {
      const publisher = client.transactionalPublisher(transactionalId);
      await publisher.connect();
      await publisher.close();
    }),
  );
}

/** Per partition: from `max(low, end - back)` to `end`, where `end` is the group's committed offset (or `high`). */
export async function rangesBefore(client: KafkaClient, topic: string, groupId: string | undefined, back: number): Promise<PartitionRange[]> {
  const offsets = client.offsets();
  try {
    const watermarks = await offsets.watermarks(topic);
    const committed = groupId === undefined ? new Map<number, number>() : await offsets.committed(groupId, topic);
    return watermarks.flatMap(({ partition, low, high }) => {
      const end = groupId === undefined ? high : (committed.get(partition) ?? low);
      const from = Math.max(low, end - back);
      return from < end ? [{ topic, partition, from, to: end }] : [];
    });
  } finally {
    await offsets.close();
  }
}

/** The committed records of `topic` in the given ranges (read_committed, a throw-away group). */
export async function readRanges(client: KafkaClient, ranges: readonly PartitionRange[], logger: Logger): Promise<InboundRecord[]> {
  const records: InboundRecord[] = [];
  await client.reader.readRanges(ranges, (record) => void records.push(record));
  logger.info({ records: records.length, ranges }, 're-read for restore');
  return records;
}
