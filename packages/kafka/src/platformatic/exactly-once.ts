import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  Consumer,
  FetchIsolationLevels,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  ProduceAcks,
  Producer,
  type BaseOptions,
  type ConsumerGroupJoinPayload,
  type Message,
  type MessagesStream,
} from '@platformatic/kafka';
import { backoffDelay, Semaphore, sleep } from '@loomwatch/concurrency';
import { LoomwatchError, isRetryable, toLoomwatchError } from '@loomwatch/contracts';
import type { ExactlyOnceOptions, InboundRecord, OutboundMessage, RecordProcessor, StopOptions } from '../ports.js';
import { PlatformaticAdmin } from './admin.js';
import { leavingGroupsOnStop } from '../membership.js';
import { NEW_PRODUCER, brokerError, isFencedInstance, leavesGroupOnlyWhen, stopsWhenFenced, withClientTransactionApis } from './connection.js';
import { partitioner } from './publishers.js';
import { toInboundRecord, toProduced } from './records.js';

/** The group membership that partitions were assigned under; offsets commit in its name (KIP-447). */
interface Membership {
  generationId: number;
  memberId: string;
  coordinatorId: number;
}

/** A record accepted for deciding, from its arrival until its outcome commits. */
interface Entry {
  message: Message;
  record: InboundRecord;
  launched: boolean;
  outputs?: OutboundMessage[];
}

interface PartitionState {
  /** The next offset to accept: records below it are committed, or already here. */
  position: bigint;
  entries: Entry[];
}

/**
 * Consume → decide → produce, exactly once, with one transactional producer per member (KIP-447):
 * the outcomes of the records decided so far and their input offsets commit in one transaction,
 * and the offsets commit in the name of the group generation the partitions were assigned under,
 * so a member that lost them (a zombie) has its transaction refused by the group coordinator.
 * After each assignment — once a transaction still under way from the previous one has ended — the
 * committed offsets are read stable (the broker waits for transactions still committing offsets),
 * and records below them are skipped. Records of a partition are
 * decided ahead (prefetch) but commit strictly in offset order.
 */
export class PlatformaticExactlyOnce implements RecordProcessor {
  private readonly base: BaseOptions;
  private readonly options: ExactlyOnceOptions;
  private readonly deciding: Semaphore;
  private readonly window: number;
  private readonly listeners: ((error: Error) => void)[] = [];
  private state: 'idle' | 'running' | 'restarting' | 'dead' = 'idle';
  private consumer: Consumer | undefined;
  private stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  private producer: Producer | undefined;
  private admin: PlatformaticAdmin | undefined;
  private membership: Membership | undefined;
  /** The assigned partitions; empty while an assignment's offsets are being read. */
  private partitions = new Map<number, PartitionState>();
  /** Bumped on each assignment: work begun under an older one is dropped. */
  private epoch = 0;
  private queued = 0;
  private committing: Promise<void> | undefined;
  /** Set when a record is decided while the commit loop runs: it looks again before it ends. */
  private commitAgain = false;
  private stopping = false;
  /** Whether the consumer's close leaves the group: set by `stop`; a crash or a fence always leaves. */
  private leaveOnClose = true;
  private restarts = 0;

  constructor(base: BaseOptions, options: ExactlyOnceOptions) {
    if ((options.groupProtocol ?? 'classic') !== 'classic') {
      throw new LoomwatchError(
        'CONFIG_INVALID',
        `kafka.groupProtocol ${options.groupProtocol} is not supported by the exactly-once processor (group ${options.groupId}): @platformatic/kafka 2.12 neither announces a KIP-848 assignment nor exposes the member epoch a transaction must commit offsets under; set kafka.groupProtocol to 'classic'`,
      );
    }
    this.base = base;
    this.options = options;
    this.deciding = new Semaphore(options.maxInFlight ?? 4);
    this.window = options.maxInFlightPerPartition ?? 2;
  }

  get running(): boolean {
    return this.state === 'running';
  }

  onFatal(listener: (error: Error) => void): void {
    this.listeners.push(listener);
  }

  async start(): Promise<void> {
    this.stopping = false;
    this.leaveOnClose = true;
    this.admin = new PlatformaticAdmin(this.base);
    this.producer = this.createProducer();
    await this.connect().catch((err: unknown) => {
      throw brokerError(err, this.base);
    });
    this.state = 'running';
  }

  /**
   * Stops fetching, lets the transaction under way finish, drops what is decided but not committed.
   * A static member stays in the group unless told to leave (see `StopOptions`): a worker restarted
   * under the same id gets the same partitions back and the other members are never revoked.
   */
  async stop(options: StopOptions = {}): Promise<void> {
    this.leaveOnClose = options.leaveGroup ?? (this.options.groupInstanceId === undefined || leavingGroupsOnStop());
    this.stopping = true;
    this.state = 'idle';
    await this.committing?.catch(() => undefined);
    await this.disconnect();
    await this.producer?.close().catch(() => undefined);
    await this.admin?.close().catch(() => undefined);
    this.producer = undefined;
    this.admin = undefined;
  }

  private createProducer(): Producer {
    const prefix = this.options.transactionalIdPrefix ?? this.options.groupId;
    const producer = new Producer({
      ...this.base,
      clientId: `${this.base.clientId}-eos`,
      idempotent: true,
      // Unique per member: with KIP-447 the group generation, not the transactional id, fences a zombie.
      transactionalId: `${prefix}.${hostname()}.${process.pid}.${randomUUID().slice(0, 8)}`,
      acks: ProduceAcks.ALL,
      partitioner,
      // Also the transaction timeout: a member killed mid-transaction holds readers back at most this long.
      timeout: 10_000,
    });
    return withClientTransactionApis(producer);
  }

  /** Joins the group; each assignment then opens its own stream (see `assigned`). */
  private async connect(): Promise<void> {
    const group = {
      sessionTimeout: this.options.sessionTimeoutMs ?? 30_000,
      rebalanceTimeout: this.options.rebalanceTimeoutMs ?? 60_000,
      heartbeatInterval: Math.min(3000, this.options.heartbeatIntervalMs ?? 2000),
    };
    const instance = this.options.groupInstanceId;
    const consumer = new Consumer({
      ...this.base,
      ...group,
      groupId: this.options.groupId,
      ...(instance === undefined ? {} : { groupInstanceId: instance }),
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      autocommit: false,
      maxWaitTime: this.options.maxWaitTimeMs ?? 5000,
      highWaterMark: this.options.maxInFlight ?? 4,
    });
    consumer.on('consumer:group:join', (payload) => void this.assigned(consumer, payload));
    // A static member whose id a newer incarnation took stops for good, rather than take it back.
    if (instance !== undefined) {
      stopsWhenFenced(consumer, (error) => void this.fenced(consumer, error));
      // A static member's graceful stop keeps its place, unless it leaves for good (see `stop`).
      leavesGroupOnlyWhen(consumer, () => !this.stopping || this.leaveOnClose);
    }
    this.consumer = consumer;
    // Subscribed for as long as the consumer lives, so replacing a stream never changes the subscription.
    consumer.topics.track(this.options.topic);
    await consumer.joinGroup(group);
  }

  private async disconnect(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    this.stream = undefined;
    this.epoch++;
    this.partitions = new Map();
    this.queued = 0;
    await consumer?.close(true).catch((err: unknown) => this.options.logger.warn({ err }, 'closing the consumer failed'));
  }

  /**
   * Another member joined with this member's group.instance.id (a restarted pod whose previous
   * incarnation is still alive, or two workers given one id): this one is a zombie. What it decided
   * but did not commit is dropped (its transaction, if one is under way, is refused and aborted), and
   * it stops for good: rejoining would fence the newer incarnation in turn, and the two would take
   * the partitions from each other forever.
   */
  private async fenced(consumer: Consumer, cause: Error): Promise<void> {
    if (this.consumer !== consumer || this.stopping || this.state === 'dead') return;
    this.state = 'dead';
    const error = new LoomwatchError(
      'CONFIG_INVALID',
      `another member of group ${this.options.groupId} joined with group.instance.id ${String(this.options.groupInstanceId)}, fencing this one: it stops. Give each worker its own worker.groupInstanceId (WORKER_ID, the pod name of a StatefulSet)`,
      { cause },
    );
    this.options.logger.error({ err: error, groupId: this.options.groupId, groupInstanceId: this.options.groupInstanceId }, 'fenced by a newer incarnation of this static member; stopping');
    this.epoch++;
    await this.committing?.catch(() => undefined);
    await this.disconnect();
    for (const listener of this.listeners) listener(error);
  }

  /** A stream that failed (the brokers gone for longer than the client retries) is replaced, with backoff, a few times. */
  private async crashed(error: Error): Promise<void> {
    if (this.stopping || this.state === 'dead') return;
    this.restarts++;
    const fatal = this.restarts > 5;
    this.options.logger.error({ err: error, groupId: this.options.groupId, restart: !fatal }, fatal ? 'consumer failed for good' : 'consumer failed; restarting it');
    this.state = fatal ? 'dead' : 'restarting';
    await this.disconnect();
    if (fatal) {
      for (const listener of this.listeners) listener(error);
      return;
    }
    await sleep(backoffDelay(this.restarts, { initialMs: 1000, maxMs: 15_000 }));
    if (this.stopping) return;
    try {
      await this.connect();
      this.state = 'running';
    } catch (err) {
      await this.crashed(err as Error);
    }
  }

  /**
   * A new assignment: work begun under the previous one stops counting, and its stream (which may
   * hold records fetched for partitions now elsewhere) is replaced by a fresh one. The committed
   * offsets are read stable, so a transaction the previous owner is still committing is waited
   * for: records below them are skipped.
   */
  private async assigned(consumer: Consumer, payload: ConsumerGroupJoinPayload): Promise<void> {
    const epoch = ++this.epoch;
    this.partitions = new Map();
    this.queued = 0;
    const previous = this.stream;
    this.stream = undefined;
    previous?.pause();
    const partitions = (payload.assignments ?? []).filter((a) => a.topic === this.options.topic).flatMap((a) => a.partitions);
    this.options.logger.info({ groupId: this.options.groupId, generation: payload.generationId, partitions }, 'partitions assigned');
    this.options.onAssigned?.(partitions, payload.generationId ?? consumer.generationId);
    try {
      // A transaction begun under the previous assignment may still be under way (its broker
      // restarting, say): let it commit or abort before the committed offsets are read, or its
      // records would be decided again here while it commits them.
      await this.committing?.catch(() => undefined);
      if (!this.current(epoch)) return;
      const committed = (await this.admin?.committed(this.options.groupId, this.options.topic)) ?? new Map<number, number>();
      if (!this.current(epoch)) return;
      const stream = await consumer.consume({
        topics: [this.options.topic],
        mode: MessagesStreamModes.COMMITTED,
        fallbackMode: (this.options.fromBeginning ?? true) ? MessagesStreamFallbackModes.EARLIEST : MessagesStreamFallbackModes.LATEST,
        autocommit: false,
        isolationLevel: FetchIsolationLevels.READ_COMMITTED,
        maxWaitTime: this.options.maxWaitTimeMs ?? 5000,
        highWaterMark: this.options.maxInFlight ?? 4,
      });
      if (!this.current(epoch)) {
        await stream.close().catch(() => undefined);
        return;
      }
      this.membership = { generationId: consumer.generationId, memberId: consumer.memberId ?? payload.memberId, coordinatorId: consumer.coordinatorId ?? -1 };
      this.partitions = new Map(partitions.map((partition) => [partition, { position: BigInt(committed.get(partition) ?? 0), entries: [] }]));
      this.stream = stream;
      stream.on('data', (message) => {
        if (this.current(epoch)) this.accept(message);
      });
      stream.on('error', (error) => {
        if (this.current(epoch)) void this.crashed(error);
      });
      this.restarts = 0;
    } catch (err) {
      if (this.current(epoch)) void this.crashed(err as Error);
    } finally {
      await previous?.close().catch(() => undefined);
    }
  }

  private accept(message: Message): void {
    const partition = this.partitions.get(message.partition);
    if (partition === undefined || message.offset < partition.position) return;
    partition.position = message.offset + 1n;
    partition.entries.push({ message, record: toInboundRecord(message), launched: false });
    if (++this.queued >= 2 * (this.options.maxInFlight ?? 4)) this.stream?.pause();
    this.launch(partition);
  }

  /** Starts deciding the partition's next records, at most `window` of them at once, uncommitted. */
  private launch(partition: PartitionState): void {
    const epoch = this.epoch;
    for (const entry of partition.entries.slice(0, this.window)) {
      if (entry.launched) continue;
      entry.launched = true;
      void this.deciding
        .run(() => (this.current(epoch) ? this.decide(entry.record, () => this.current(epoch)) : Promise.resolve(undefined)))
        .then(
          (outputs) => {
            if (outputs === undefined || !this.current(epoch)) return;
            entry.outputs = outputs;
            this.scheduleCommit();
          },
          (err: unknown) => {
            if (!this.current(epoch)) return;
            // Transient trouble that outlasted the retry budget: decide the record again.
            this.options.logger.error({ err, partition: entry.record.partition, offset: entry.record.offset }, 'deciding a record failed; trying again');
            entry.launched = false;
            setTimeout(() => this.launch(partition), 1000);
          },
        );
    }
  }

  private current(epoch: number): boolean {
    return epoch === this.epoch && !this.stopping;
  }

  private async decide(record: InboundRecord, alive: () => boolean): Promise<OutboundMessage[]> {
    const maxElapsed = this.options.retry?.maxElapsedMs ?? 120_000;
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.options.handler(record, attempt);
      } catch (thrown) {
        const error = toLoomwatchError(thrown);
        if (!isRetryable(error)) return this.options.onPermanentError(record, error, attempt);
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

  private scheduleCommit(): void {
    this.commitAgain = true;
    if (this.committing !== undefined) return;
    this.committing = this.commitLoop().finally(() => {
      this.committing = undefined;
      if (this.commitAgain && !this.stopping) this.scheduleCommit();
    });
  }

  /** Commits whatever is decided, in offset order per partition, until nothing more is. */
  private async commitLoop(): Promise<void> {
    for (let failures = 0; !this.stopping; ) {
      this.commitAgain = false;
      const epoch = this.epoch;
      const ready = [...this.partitions.values()].map((partition) => ({ partition, done: decidedPrefix(partition.entries) }));
      const batch = ready.filter((entry) => entry.done.length > 0);
      if (batch.length === 0 || this.membership === undefined) return;
      try {
        await this.commit(this.membership, batch.map((entry) => entry.done));
        failures = 0;
      } catch (err) {
        if (isFencedInstance(err)) {
          const consumer = this.consumer;
          if (consumer !== undefined) void this.fenced(consumer, err as Error);
          return;
        }
        failures++;
        this.options.logger.warn({ err, groupId: this.options.groupId, failures }, 'a transaction failed and was aborted; its records are committed again');
        // A producer whose transaction timed out on the broker is fenced for good: replace it.
        if (failures % 3 === 0) await this.replaceProducer();
        await sleep(backoffDelay(failures, { initialMs: 100, maxMs: 5000 }));
        // The failed transaction may have committed all the same (its answer lost to a broker
        // restart): what the group's committed offsets, read stable, already cover is done.
        if (epoch === this.epoch) await this.settle(batch).catch((error: unknown) => this.options.logger.warn({ err: error }, 'reading the committed offsets after a failed transaction failed'));
        continue;
      }
      this.options.onCommitted?.(
        batch.flatMap((entry) => entry.done.map((done) => done.record)),
        batch.flatMap((entry) => entry.done.flatMap((done) => done.outputs ?? [])),
      );
      if (epoch !== this.epoch) continue;
      let committed = 0;
      for (const { partition, done } of batch) {
        partition.entries.splice(0, done.length);
        committed += done.length;
        this.launch(partition);
      }
      this.queued -= committed;
      if (this.queued < 2 * (this.options.maxInFlight ?? 4)) this.stream?.resume();
    }
  }

  /**
   * After a transaction whose outcome is unknown: drops the batch's entries that the group's
   * committed offsets already cover — that transaction did commit them, outcomes and offsets
   * together — so they are not committed a second time.
   */
  private async settle(batch: readonly { partition: PartitionState; done: Entry[] }[]): Promise<void> {
    const committed = (await this.admin?.committed(this.options.groupId, this.options.topic)) ?? new Map<number, number>();
    const records: InboundRecord[] = [];
    const outputs: OutboundMessage[] = [];
    for (const { partition, done } of batch) {
      const first = done[0];
      const offset = first === undefined ? undefined : committed.get(first.message.partition);
      if (offset === undefined) continue;
      const settled = done.filter((entry) => entry.message.offset < BigInt(offset) && partition.entries.includes(entry));
      if (settled.length === 0) continue;
      partition.entries.splice(0, settled.length);
      this.queued -= settled.length;
      for (const entry of settled) {
        records.push(entry.record);
        outputs.push(...(entry.outputs ?? []));
      }
      this.launch(partition);
    }
    if (this.queued < 2 * (this.options.maxInFlight ?? 4)) this.stream?.resume();
    if (records.length === 0) return;
    this.options.logger.warn({ groupId: this.options.groupId, records: records.length }, 'a transaction reported as failed had committed: its records are not committed again');
    this.options.onCommitted?.(records, outputs);
  }

  private async replaceProducer(): Promise<void> {
    const previous = this.producer;
    this.producer = this.createProducer();
    await previous?.close().catch(() => undefined);
  }

  private async commit(membership: Membership, batches: readonly Entry[][]): Promise<void> {
    const producer = this.producer;
    const consumer = this.consumer;
    if (producer === undefined || consumer === undefined) throw new Error('the processor is stopped');
    const transaction = await producer.beginTransaction(NEW_PRODUCER);
    try {
      const outputs = batches.flatMap((entries) => entries.flatMap((entry) => entry.outputs ?? []));
      if (outputs.length > 0) await transaction.send({ messages: outputs.map(toProduced) });
      await transaction.addConsumer(consumer);
      for (const entries of batches) {
        const last = entries[entries.length - 1];
        // In the name of the generation the partition was assigned under: a newer one refuses it.
        if (last !== undefined) await transaction.addOffset({ ...last.message, metadata: { consumer: { groupId: this.options.groupId, ...membership } } });
      }
      await transaction.commit();
    } catch (err) {
      await transaction.abort().catch(() => transaction.cancel().catch(() => undefined));
      throw err;
    }
  }
}

/** The leading entries whose outcome is decided: what can commit now without breaking offset order. */
function decidedPrefix(entries: readonly Entry[]): Entry[] {
  const done: Entry[] = [];
  for (const entry of entries) {
    if (entry.outputs === undefined) break;
    done.push(entry);
  }
  return done;
}
