import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { LoomwatchError } from '@loomwatch/contracts';

export interface PublishedFramesOptions {
  kafka: Kafka;
  topic: string;
  /** Without a time window, how many of each partition's last messages are read. @defaultValue 500 */
  tailPerPartition?: number;
  /** A lookup that has not reached the end of the range by then fails. @defaultValue 60000 */
  timeoutMs?: number;
}

/** Where to look: broker timestamps (ms) of the messages that may hold the frames. */
export interface LookupWindow {
  fromMs: number;
  toMs: number;
}

interface PartitionRange {
  partition: number;
  /** First offset to read. */
  start: bigint;
  /** One past the last offset to read (the high watermark when the lookup began). */
  end: bigint;
}

/**
 * Answers "is a FrameEvent with this frame id on the topic?" by reading a bounded slice of it —
 * a time window when the caller knows when the frame was sent, else the tail of each partition.
 * It is how the hot folder resolves a publish that a crash left unconfirmed.
 *
 * It reads with a throwaway consumer group that never commits (and is deleted after). A range
 * ends at the high watermark seen when the lookup began, so frames sent meanwhile are not waited for.
 */
export class PublishedFrames {
  private readonly options: PublishedFramesOptions;

  constructor(options: PublishedFramesOptions) {
    this.options = options;
  }

  async has(frameId: string, window?: LookupWindow): Promise<boolean> {
    return (await this.find([frameId], window)).has(frameId);
  }

  /** The subset of `frameIds` found in the window (or the tail). */
  async find(frameIds: readonly string[], window?: LookupWindow): Promise<Set<string>> {
    const wanted = new Set(frameIds);
    const found = new Set<string>();
    if (wanted.size === 0) return found;
    const ranges = (await this.ranges(window)).filter((range) => range.start < range.end);
    if (ranges.length === 0) return found;

    const { kafka, topic } = this.options;
    const groupId = `loomwatch-gateway-lookup-${randomUUID()}`;
    const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, sessionTimeout: 30_000 });
    const pending = new Map(ranges.map((range) => [range.partition, range]));
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const complete = (partition: number): void => {
      pending.delete(partition);
      if (pending.size === 0 || found.size === wanted.size) finish();
    };
    await consumer.connect();
    try {
      // From the beginning, not the end: until the seeks below apply, the consumer reads offsets
      // below the range (skipped), never ones past it, so the end of a range is never mistaken.
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: true,
        eachBatch: ({ batch }) => {
          const range = pending.get(batch.partition);
          if (range === undefined) return Promise.resolve();
          for (const message of batch.messages) {
            const offset = BigInt(message.offset);
            if (offset < range.start) continue;
            if (offset >= range.end || (window !== undefined && Number(message.timestamp) > window.toMs)) {
              complete(batch.partition);
              return Promise.resolve();
            }
            const id = frameIdOf(message.headers?.['ce_id'], message.value);
            if (id !== undefined && wanted.has(id)) found.add(id);
            if (offset === range.end - 1n) {
              complete(batch.partition);
              return Promise.resolve();
            }
          }
          if (found.size === wanted.size) finish();
          return Promise.resolve();
        },
      });
      // run() returns once the group has its assignment; the seeks apply to the next fetch.
      for (const range of ranges) consumer.seek({ topic, partition: range.partition, offset: range.start.toString() });
      await withTimeout(done, this.options.timeoutMs ?? 60_000, `reading ${topic} to find published frames`);
    } finally {
      await consumer.disconnect();
      await this.deleteGroup(groupId);
    }
    return found;
  }

  private async ranges(window: LookupWindow | undefined): Promise<PartitionRange[]> {
    const admin = this.options.kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(this.options.topic);
      const ends = new Map(offsets.map((p) => [p.partition, { low: BigInt(p.low), high: BigInt(p.high) }]));
      if (window === undefined) {
        const tail = BigInt(this.options.tailPerPartition ?? 500);
        return [...ends].map(([partition, { low, high }]) => ({ partition, start: high - tail > low ? high - tail : low, end: high }));
      }
      const starts = await admin.fetchTopicOffsetsByTimestamp(this.options.topic, window.fromMs);
      return starts.map(({ partition, offset }) => {
        const bounds = ends.get(partition) ?? { low: 0n, high: 0n };
        const start = BigInt(offset);
        return { partition, start: start > bounds.low ? start : bounds.low, end: bounds.high };
      });
    } catch (err) {
      throw new LoomwatchError('BROKER_UNAVAILABLE', `cannot read the offsets of ${this.options.topic}: ${(err as Error).message}`, {
        cause: err,
        retryable: true,
      });
    } finally {
      await admin.disconnect();
    }
  }

  private async deleteGroup(groupId: string): Promise<void> {
    const admin = this.options.kafka.admin();
    try {
      await admin.connect();
      await admin.deleteGroups([groupId]);
    } catch {
      // An empty group without offsets expires on its own; deleting it is only tidiness.
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}

/** The value's `frameId`; the CloudEvents id header (FramePublisher sets it to the frame id) when the value is unreadable. */
function frameIdOf(ceId: Buffer | string | (Buffer | string)[] | undefined, value: Buffer | null): string | undefined {
  if (value !== null) {
    try {
      const parsed = JSON.parse(value.toString('utf8')) as { frameId?: unknown };
      if (typeof parsed.frameId === 'string') return parsed.frameId;
    } catch {
      // fall through to the header
    }
  }
  const header = Array.isArray(ceId) ? ceId[0] : ceId;
  return header?.toString();
}

async function withTimeout(promise: Promise<void>, ms: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new LoomwatchError('BROKER_UNAVAILABLE', `${what} did not finish within ${ms} ms`, { retryable: true })),
      ms,
    );
  });
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
