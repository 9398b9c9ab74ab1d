import { LoomwatchError } from '@loomwatch/contracts';
import type { InboundRecord, KafkaClient, PartitionRange } from '@loomwatch/kafka';

interface PublishedFramesOptions {
  kafka: KafkaClient;
  topic: string;
  /** Without a time window, how many of each partition's last messages are read. @defaultValue 500 */
  tailPerPartition?: number;
  /** A lookup fails when no partition moves for this long. @defaultValue 60000 */
  idleTimeoutMs?: number;
}

/** Where to look: broker timestamps (ms) of the messages that may hold the frames. */
export interface LookupWindow {
  fromMs: number;
  toMs: number;
}

/**
 * Answers "is a FrameEvent with this frame id on the topic?" by reading a bounded slice of it —
 * a time window when the caller knows when the frame was sent, else the tail of each partition.
 * It is how the hot folder resolves a publish that a crash left unconfirmed.
 *
 * A range ends at the high watermark seen when the lookup began, so frames sent meanwhile are not
 * waited for; the read stops as soon as every wanted id has been seen.
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
    const ranges = await this.ranges(window);
    await this.options.kafka.reader.readRanges(
      ranges,
      (record) => {
        const id = frameIdOf(record);
        if (id !== undefined && wanted.has(id)) found.add(id);
        return found.size === wanted.size ? 'stop' : undefined;
      },
      { idleTimeoutMs: this.options.idleTimeoutMs ?? 60_000 },
    );
    return found;
  }

  /** Each partition's slice: from the window's start (or the tail) to the window's end, never past the high watermark of now. */
  private async ranges(window: LookupWindow | undefined): Promise<PartitionRange[]> {
    const { topic } = this.options;
    const offsets = this.options.kafka.offsets();
    try {
      const watermarks = await offsets.watermarks(topic);
      if (window === undefined) {
        const tail = this.options.tailPerPartition ?? 500;
        return watermarks.map(({ partition, low, high }) => ({ topic, partition, from: Math.max(low, high - tail), to: high }));
      }
      const starts = await offsets.offsetsAtTime(topic, window.fromMs);
      // The first offset past the window: a partition's records after it cannot hold the frames.
      const ends = await offsets.offsetsAtTime(topic, window.toMs + 1);
      return watermarks.map(({ partition, low, high }) => ({
        topic,
        partition,
        from: Math.max(low, starts.get(partition) ?? high),
        to: Math.min(high, ends.get(partition) ?? high),
      }));
    } catch (err) {
      throw new LoomwatchError('BROKER_UNAVAILABLE', `cannot read the offsets of ${topic}: ${(err as Error).message}`, {
        cause: err,
        retryable: true,
      });
    } finally {
      await offsets.close();
    }
  }
}

/** The value's `frameId`; the CloudEvents id header (FramePublisher sets it to the frame id) when the value is unreadable. */
function frameIdOf(record: InboundRecord): string | undefined {
  if (record.value !== null) {
    try {
      const parsed = JSON.parse(record.value.toString('utf8')) as { frameId?: unknown };
      if (typeof parsed.frameId === 'string') return parsed.frameId;
    } catch {
      // fall through to the header
    }
  }
  return record.headers['ce_id'];
}
