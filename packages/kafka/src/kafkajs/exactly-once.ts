import type { Admin, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import { isRetryable, toLoomwatchError } from '@loomwatch/contracts';
import { backoffDelay, sleep } from '../backoff.js';
import type { ExactlyOnceOptions, InboundRecord, OutboundMessage, RecordProcessor } from '../ports.js';
import { Semaphore } from '../semaphore.js';
import { WatchedConsumer } from './watched-consumer.js';
import { byTopic, toInboundRecord } from './records.js';

/** A partition's transactional producer, and the group's committed offset read after it fenced the previous owner. */
interface Owned {
  producer: Producer;
  committed: bigint;
}

interface Decided {
  record: InboundRecord;
  outputs: OutboundMessage[];
}

/**
 * Consume → decide → produce, exactly once. Each input partition has its own transactional
 * producer (id `<prefix>.<topic>.<partition>`: kafkajs has no KIP-447, so fencing a zombie needs
 * one id per partition); a record's outcome and its offset commit in one transaction.
 * Records are decided ahead (prefetch) but committed strictly in offset order.
 */
export class KafkajsExactlyOnce extends WatchedConsumer implements RecordProcessor {
  private readonly kafka: Kafka;
  private readonly options: ExactlyOnceOptions;
  private readonly producers = new Map<number, Promise<Owned>>();
  private admin: Promise<Admin> | undefined;
  private readonly inFlight: Semaphore;
  private stopping = false;

  constructor(kafka: Kafka, options: ExactlyOnceOptions) {
    const consumer = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      maxWaitTimeInMs: options.maxWaitTimeMs ?? 5000,
      rebalanceTimeout: options.rebalanceTimeoutMs ?? 60_000,
      heartbeatInterval: Math.min(3000, options.heartbeatIntervalMs ?? 2000),
      readUncommitted: false,
      retry: { retries: 8, initialRetryTime: 300 },
    });
    super(consumer, options.logger, options.groupId);
    this.kafka = kafka;
    this.options = options;
    this.inFlight = new Semaphore(options.maxInFlight ?? 4);
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => {
      const assigned = new Set(event.payload.memberAssignment[options.topic] ?? []);
      options.logger.info({ groupId: options.groupId, partitions: [...assigned] }, 'partitions assigned');
      for (const partition of [...this.producers.keys()]) {
        if (!assigned.has(partition)) void this.closeProducer(partition);
      }
      // Fence the previous owners now, before their records are decided here.
      for (const partition of assigned) void this.producerFor(partition).catch(() => undefined);
    });
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.options.topic, fromBeginning: this.options.fromBeginning ?? true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 4,
      eachBatch: (payload) => this.processBatch(payload),
    });
    this.started();
  }

  /** Stops fetching, lets in-flight records finish or be dropped uncommitted, closes producers. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopped();
    await this.consumer.disconnect();
    await Promise.all([...this.producers.keys()].map((partition) => this.closeProducer(partition)));
    const admin = this.admin;
    this.admin = undefined;
    if (admin !== undefined) await (await admin).disconnect().catch(() => undefined);
  }

  private transactionalId(partition: number): string {
    return `${this.options.transactionalIdPrefix ?? this.options.groupId}.${this.options.topic}.${partition}`;
  }

  /**
   * The partition's producer, made on assignment. Initialising its transactional id fences the
   * previous owner: that owner's open transaction is aborted and its later commits are refused.
   * kafkajs initialises the id on the first `transaction()`, not on `connect()`, hence the empty
   * transaction (its abort sends nothing). The previous owner may have committed between our fetch
   * and the fence, so the group's committed offset is read after it: records below it are done.
   */
  private producerFor(partition: number): Promise<Owned> {
    let owned = this.producers.get(partition);
    if (owned === undefined) {
      owned = (async () => {
        const producer = this.kafka.producer({
          transactionalId: this.transactionalId(partition),
          idempotent: true,
          maxInFlightRequests: 1,
          transactionTimeout: 60_000,
          // The broker answers CONCURRENT_TRANSACTIONS right after a commit; retry it quickly.
          retry: { initialRetryTime: 20, retries: 10 },
        });
        await producer.connect();
        await (await producer.transaction()).abort();
        return { producer, committed: await this.committedOffset(partition) };
      })();
      this.producers.set(partition, owned);
      owned.catch(() => this.producers.delete(partition));
    }
    return owned;
  }

  private async committedOffset(partition: number): Promise<bigint> {
    this.admin ??= (async () => {
      const admin = this.kafka.admin();
      await admin.connect();
      return admin;
    })();
    const admin = await this.admin;
    const [offsets] = await admin.fetchOffsets({ groupId: this.options.groupId, topics: [this.options.topic] });
    const offset = BigInt(offsets?.partitions.find((p) => p.partition === partition)?.offset ?? '-1');
    return offset < 0n ? 0n : offset;
  }

  private async closeProducer(partition: number): Promise<void> {
    const producer = this.producers.get(partition);
    this.producers.delete(partition);
    if (producer === undefined) return;
    try {
      await (await producer).producer.disconnect();
    } catch (err) {
      this.options.logger.warn({ err, partition }, 'closing a transactional producer failed');
    }
  }

  private async decide(record: InboundRecord, alive: () => boolean): Promise<Decided> {
    const maxElapsed = this.options.retry?.maxElapsedMs ?? 120_000;
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        return { record, outputs: await this.options.handler(record, attempt) };
      } catch (thrown) {
        const error = toLoomwatchError(thrown);
        if (!isRetryable(error)) {
          return { record, outputs: this.options.onPermanentError(record, error, attempt) };
        }
        if (!alive() || Date.now() - started > maxElapsed) throw error;
        const delay = backoffDelay(attempt, this.options.retry);
        this.options.logger.warn(
          { code: error.code, offset: record.offset, partition: record.partition, attempt, delayMs: delay },
          `retrying after a transient error: ${error.message}`,
        );
        await sleep(delay);
      }
    }
  }

  private async commit(partition: number, decided: readonly Decided[]): Promise<void> {
    const last = decided[decided.length - 1];
    if (last === undefined) return;
    const { producer } = await this.producerFor(partition);
    const outputs = decided.flatMap((entry) => entry.outputs);
    const transaction = await producer.transaction();
    try {
      if (outputs.length > 0) await transaction.sendBatch({ topicMessages: byTopic(outputs) });
      await transaction.sendOffsets({
        consumerGroupId: this.options.groupId,
        topics: [{ topic: this.options.topic, partitions: [{ partition, offset: String(BigInt(last.record.offset) + 1n) }] }],
      });
      await transaction.commit();
    } catch (err) {
      await transaction.abort().catch(() => undefined);
      // A fenced or broken producer is not reused: the next attempt makes (and fences with) a new one.
      await this.closeProducer(partition);
      throw err;
    }
    this.options.onCommitted?.(
      decided.map((entry) => entry.record),
      outputs,
    );
  }

  private async processBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const heartbeat = (): Promise<void> => payload.heartbeat();
    const alive = (): boolean => !this.stopping && payload.isRunning() && !payload.isStale();
    const window = this.options.maxInFlightPerPartition ?? 2;
    const beat = setInterval(() => void heartbeat().catch(() => undefined), this.options.heartbeatIntervalMs ?? 2000);
    const pending: Promise<Decided>[] = [];
    let next = 0;
    const launch = (): void => {
      const message = batch.messages[next++];
      if (message === undefined) return;
      const record = toInboundRecord(batch.topic, batch.partition, message);
      pending.push(
        this.inFlight.run(() => (alive() ? this.decide(record, alive) : Promise.reject(new Error('stopped')))),
      );
    };
    try {
      const { committed } = await this.producerFor(batch.partition);
      while (next < batch.messages.length && BigInt(batch.messages[next]?.offset ?? '0') < committed) next++;
      const skipped = batch.messages[next - 1];
      if (skipped !== undefined) payload.resolveOffset(skipped.offset);
      while (pending.length < window && next < batch.messages.length) launch();
      while (pending.length > 0 && alive()) {
        const first = pending.shift();
        if (first === undefined) break;
        const decided = [await first];
        if (next < batch.messages.length) launch();
        // Whatever else is already decided, in order, goes into the same transaction.
        while (pending.length > 0 && alive()) {
          const ready = await Promise.race([pending[0], Promise.resolve(undefined)]);
          if (ready === undefined) break;
          void pending.shift();
          decided.push(ready);
          if (next < batch.messages.length) launch();
        }
        if (!alive()) break;
        await this.commit(batch.partition, decided);
        for (const entry of decided) payload.resolveOffset(entry.record.offset);
        await heartbeat();
      }
    } finally {
      clearInterval(beat);
      // Records decided but not committed are dropped; whoever owns the partition next decides them again.
      for (const dropped of pending) void dropped.catch(() => undefined);
    }
  }
}
