import { randomUUID } from 'node:crypto';
import { Consumer, FetchIsolationLevels, MessagesStreamFallbackModes, MessagesStreamModes, type BaseOptions, type ConsumeOptions } from '@platformatic/kafka';
import { LoomwatchError } from '@loomwatch/contracts';
import type { Logger } from '@loomwatch/observability';
import { sleep } from '@loomwatch/concurrency';
import type { FollowOptions, PartitionRange, ReadOptions, RecordVisitor, Subscription, TopicReader } from '../ports.js';
import { PlatformaticAdmin, withAdmin } from './admin.js';
import { brokerError } from './connection.js';
import { toInboundRecord } from './records.js';
import { SequentialStream } from './sequential-stream.js';

const idOf = (topic: string, partition: number): string => `${topic}/${partition}`;
const POLL_MS = 50;

type StreamOptions = ConsumeOptions<Buffer, Buffer, Buffer, Buffer>;

/** A consumer of a throw-away group (never committed) reading committed records only. */
async function openStream(options: BaseOptions, purpose: string, stream: Omit<StreamOptions, 'autocommit' | 'isolationLevel'>) {
  const consumer = new Consumer({
    ...options,
    groupId: `loomwatch-${purpose}-${randomUUID()}`,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    autocommit: false,
    maxWaitTime: 500,
    heartbeatInterval: 1000,
    sessionTimeout: 30_000,
  });
  try {
    return { consumer, stream: await consumer.consume({ ...stream, autocommit: false, isolationLevel: FetchIsolationLevels.READ_COMMITTED }) };
  } catch (err) {
    await consumer.close(true).catch(() => undefined);
    throw brokerError(err, options);
  }
}

export class PlatformaticReader implements TopicReader {
  private readonly options: BaseOptions;
  private readonly logger: Logger | undefined;

  constructor(options: BaseOptions, logger: Logger | undefined) {
    this.options = options;
    this.logger = logger;
  }

  async readRanges(ranges: readonly PartitionRange[], visit: RecordVisitor, options: ReadOptions = {}): Promise<void> {
    const wanted = ranges.filter((range) => range.from < range.to);
    if (wanted.length === 0) return;
    const rangeOf = new Map(wanted.map((range) => [idOf(range.topic, range.partition), range]));
    const idleTimeoutMs = options.idleTimeoutMs ?? 120_000;
    const { consumer, stream } = await openStream(this.options, 'reader', {
      topics: [...new Set(wanted.map((range) => range.topic))],
      mode: MessagesStreamModes.MANUAL,
      // Partitions outside the ranges start at their end: nothing of theirs is read.
      fallbackMode: MessagesStreamFallbackModes.LATEST,
      offsets: wanted.map((range) => ({ topic: range.topic, partition: range.partition, offset: BigInt(range.from) })),
    });
    let stopped = false;
    let failure: Error | undefined;
    const reading = new SequentialStream(
      stream,
      async (message) => {
        const range = rangeOf.get(idOf(message.topic, message.partition));
        if (stopped || range === undefined || message.offset < BigInt(range.from) || message.offset >= BigInt(range.to)) return;
        if ((await visit(toInboundRecord(message))) === 'stop') stopped = true;
      },
      (error) => (failure ??= error),
    );
    try {
      // A range is read once the stream fetches past its end (aborted records and transaction
      // markers count) and every record received has been visited.
      let lastProgress = Date.now();
      let lastPositions = '';
      for (;;) {
        if (failure !== undefined) throw failure;
        if (stopped) return;
        const positions = wanted.map((range) => reading.fetchPosition(range.topic, range.partition) ?? -1n);
        if (reading.idle && positions.every((position, i) => position >= BigInt(wanted[i]?.to ?? 0))) return;
        const signature = positions.join(',');
        if (signature !== lastPositions || !reading.idle) [lastPositions, lastProgress] = [signature, Date.now()];
        if (Date.now() - lastProgress > idleTimeoutMs) {
          const stuck = wanted.filter((range, i) => (positions[i] ?? -1n) < BigInt(range.to)).map((range) => `${idOf(range.topic, range.partition)} (to ${range.to})`);
          throw new LoomwatchError('BROKER_UNAVAILABLE', `no progress for ${idleTimeoutMs} ms reading ${stuck.join(', ')}: is a transaction still open, or the broker down?`, {
            retryable: true,
          });
        }
        await sleep(POLL_MS);
      }
    } finally {
      await consumer.close(true).catch(() => undefined);
      await this.forget(consumer.groupId);
    }
  }

  async readToEnd(topics: readonly string[], visit: RecordVisitor, options: ReadOptions = {}): Promise<void> {
    const ranges: PartitionRange[] = [];
    for (const topic of topics) {
      for (const { partition, low, high } of await withAdmin(this.options, (admin) => admin.watermarks(topic))) ranges.push({ topic, partition, from: low, to: high });
    }
    await this.readRanges(ranges, visit, options);
  }

  async follow(topic: string, visit: RecordVisitor, options: FollowOptions = {}): Promise<Subscription> {
    const fromBeginning = (options.from ?? 'beginning') === 'beginning';
    // Asked even when following from the end: a broker that is down fails here in seconds, where
    // the consumer's group join would retry for minutes.
    const ends = new Map<number, number>();
    for (const { partition, low, high } of await withAdmin(this.options, (admin) => admin.watermarks(topic))) if (fromBeginning && high > low) ends.set(partition, high);
    const { consumer, stream } = await openStream(this.options, `follower.${topic}`, {
      topics: [topic],
      mode: fromBeginning ? MessagesStreamModes.EARLIEST : MessagesStreamModes.LATEST,
    });
    let running = true;
    let failure: Error | undefined;
    const listeners: ((error: Error) => void)[] = [];
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> =>
      (stopping ??= (async () => {
        running = false;
        await consumer.close(true).catch(() => undefined);
        await this.forget(consumer.groupId);
      })());
    const following = new SequentialStream(
      stream,
      async (message) => {
        try {
          await visit(toInboundRecord(message));
        } catch (err) {
          this.logger?.error({ err, topic, partition: message.partition, offset: message.offset.toString() }, 'a follower could not handle a record; it goes on with the next');
        }
      },
      (error) => {
        if (!running) return;
        failure = brokerError(error, this.options) as Error;
        this.logger?.error({ topic, code: (failure as { code?: unknown }).code }, `following ${topic} failed, it is followed no more: ${failure.message}`);
        void stop();
        for (const listener of listeners) listener(failure);
      },
    );
    // Caught up: every partition fetched past where it ended at the call (from the end: the
    // stream knows its start offsets), and every record received visited.
    const timeoutMs = options.catchUpTimeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    const caughtUp = (): boolean => {
      return stream.offsetsToFetch.size > 0 && following.idle && [...ends].every(([partition, end]) => (following.fetchPosition(topic, partition) ?? -1n) >= BigInt(end));
    };
    while (!caughtUp()) {
      if (failure !== undefined) throw failure;
      if (Date.now() > deadline) {
        await stop();
        throw new LoomwatchError('BROKER_UNAVAILABLE', `could not read ${topic} to its end within ${timeoutMs} ms: check the brokers`, { retryable: true });
      }
      await sleep(POLL_MS);
    }
    this.logger?.debug({ topic }, 'caught up with the topic');
    return {
      stop,
      get running() {
        return running;
      },
      onFatal(listener) {
        if (failure === undefined) listeners.push(listener);
        else listener(failure);
      },
    };
  }

  private async forget(groupId: string): Promise<void> {
    const admin = new PlatformaticAdmin(this.options);
    await admin.deleteGroup(groupId);
    await admin.close().catch(() => undefined);
  }
}
