import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import { isRetryable, toLoomwatchError, type LoomwatchError } from '@loomwatch/contracts';
import type { Logger } from '@loomwatch/observability';
import { backoffDelay, sleep, type BackoffOptions } from './backoff.js';
import { toInboundRecord, type InboundRecord, type OutboundMessage } from './records.js';
import { Semaphore } from './semaphore.js';

/**
 * Decides one record. Returns the messages that are its outcome (a verdict, a dead letter…).
 * Throw a retryable `LoomwatchError` for transient trouble: the record is retried with backoff and
 * its offset does not move. Anything else thrown goes to `onPermanentError`.
 */
export type RecordHandler = (record: InboundRecord, attempt: number) => Promise<OutboundMessage[]>;

/** Turns a record that failed for good into its outcome, usually a dead letter. */
export type PermanentErrorHandler = (record: InboundRecord, error: LoomwatchError, attempts: number) => OutboundMessage[];

export interface ExactlyOnceOptions {
  kafka: Kafka;
  groupId: string;
  topic: string;
  handler: RecordHandler;
  onPermanentError: PermanentErrorHandler;
  logger: Logger;
  /** Prefix of the per-partition transactional ids. @defaultValue the group id */
  transactionalIdPrefix?: string;
  /** Records decided at once across all partitions (prefetch depth). @defaultValue 4 */
  maxInFlight?: number;
  /** Records of one partition decided at once; outcomes still commit in offset order. @defaultValue 2 */
  maxInFlightPerPartition?: number;
  /** @defaultValue 4 */
  partitionsConsumedConcurrently?: number;
  /** Where a group with no committed offset starts. @defaultValue true */
  fromBeginning?: boolean;
  /** @defaultValue 30000 */
  sessionTimeoutMs?: number;
  /** How long a fetch waits for new records; also how long `stop` can take. @defaultValue 5000 */
  maxWaitTimeMs?: number;
  /** @defaultValue 60000 */
  rebalanceTimeoutMs?: number;
  /** Heartbeats are sent this often while records are being decided. @defaultValue 2000 */
  heartbeatIntervalMs?: number;
  /** Backoff between attempts on retryable errors. */
  retry?: BackoffOptions & {
    /** After this long the batch fails without committing, and is fetched again. @defaultValue 120000 */
    maxElapsedMs?: number;
  };
  /** Called after each committed transaction with the records it covered. */
  onCommitted?: (records: readonly InboundRecord[], outputs: readonly OutboundMessage[]) => void;
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
export class ExactlyOnceProcessor {
  private readonly options: ExactlyOnceOptions;
  private readonly consumer: Consumer;
  private readonly producers = new Map<number, Promise<Producer>>();
  private readonly inFlight: Semaphore;
  private stopping = false;

  constructor(options: ExactlyOnceOptions) {
    this.options = options;
    this.inFlight = new Semaphore(options.maxInFlight ?? 4);
    this.consumer = options.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      maxWaitTimeInMs: options.maxWaitTimeMs ?? 5000,
      rebalanceTimeout: options.rebalanceTimeoutMs ?? 60_000,
      heartbeatInterval: Math.min(3000, options.heartbeatIntervalMs ?? 2000),
      readUncommitted: false,
      retry: { retries: 8, initialRetryTime: 300 },
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => {
      const assigned = new Set(event.payload.memberAssignment[options.topic] ?? []);
      options.logger.info({ groupId: options.groupId, partitions: [...assigned] }, 'partitions assigned');
      for (const partition of [...this.producers.keys()]) {
        if (!assigned.has(partition)) void this.closeProducer(partition);
      }
    });
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      options.logger.error({ err: event.payload.error, restart: event.payload.restart }, 'consumer crashed');
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
  }

  /** Stops fetching, lets in-flight records finish or be dropped uncommitted, closes producers. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.consumer.disconnect();
    await Promise.all([...this.producers.keys()].map((partition) => this.closeProducer(partition)));
  }

  private transactionalId(partition: number): string {
    return `${this.options.transactionalIdPrefix ?? this.options.groupId}.${this.options.topic}.${partition}`;
  }

  private producerFor(partition: number): Promise<Producer> {
    let producer = this.producers.get(partition);
    if (producer === undefined) {
      producer = (async () => {
        const created = this.options.kafka.producer({
          transactionalId: this.transactionalId(partition),
          idempotent: true,
          maxInFlightRequests: 1,
          transactionTimeout: 60_000,
          // The broker answers CONCURRENT_TRANSACTIONS right after a commit; retry it quickly.
          retry: { initialRetryTime: 20, retries: 10 },
        });
        // Connecting initialises the transactional id, which fences any older owner of this partition.
        await created.connect();
        return created;
      })();
      this.producers.set(partition, producer);
      producer.catch(() => this.producers.delete(partition));
    }
    return producer;
  }

  private async closeProducer(partition: number): Promise<void> {
    const producer = this.producers.get(partition);
    this.producers.delete(partition);
    if (producer === undefined) return;
    try {
      await (await producer).disconnect();
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
    const producer = await this.producerFor(partition);
    const outputs = decided.flatMap((entry) => entry.outputs);
    const transaction = await producer.transaction();
    try {
      const byTopic = new Map<string, OutboundMessage[]>();
      for (const message of outputs) byTopic.set(message.topic, [...(byTopic.get(message.topic) ?? []), message]);
      if (byTopic.size > 0) {
        await transaction.sendBatch({
          topicMessages: [...byTopic].map(([topic, messages]) => ({
            topic,
            messages: messages.map(({ key, value, headers }) => ({ key, value, headers })),
          })),
        });
      }
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
