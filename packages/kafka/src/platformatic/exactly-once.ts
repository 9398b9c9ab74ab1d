import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  Consumer,
  FetchIsolationLevels,
  GroupProtocols,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  ProduceAcks,
  Producer,
  type BaseOptions,
  type ConsumeOptions,
  type ConsumerGroupJoinPayload,
  type Message,
  type MessagesStream,
} from '@platformatic/kafka';
import { backoffDelay, Semaphore, sleep } from '@loomwatch/concurrency';
import { LoomwatchError, isRetryable, toLoomwatchError } from '@loomwatch/contracts';
import type { ExactlyOnceOptions, GroupProtocol, InboundRecord, OutboundMessage, RecordProcessor, StopOptions } from '../ports.js';
import { PlatformaticAdmin } from './admin.js';
import { leavingGroupsOnStop } from '../membership.js';
import {
  NEW_PRODUCER,
  brokerError,
  followsConsumerGroupHeartbeats,
  hasBrokerError,
  isFencedInstance,
  isUnreleasedInstance,
  leavesGroupOnlyWhen,
  stopsWhenFenced,
  withClientTransactionApis,
  type ConsumerGroupHeartbeatAnswer,
} from './connection.js';
import { partitioner } from './publishers.js';
import { toInboundRecord, toProduced } from './records.js';

/**
 * The group membership that partitions were assigned under; offsets commit in its name (KIP-447).
 * Under KIP-848 the generation is the member epoch, which the coordinator checks as it checks a
 * classic generation: a TxnOffsetCommit under another epoch is refused (ILLEGAL_GENERATION).
 */
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
  private readonly protocol: GroupProtocol;
  /** KIP-848: the input topic's id, as assignments name it. */
  private topicId: string | undefined;
  /** KIP-848: the partitions the coordinator last assigned, some perhaps still having their offsets read. */
  private assignment = new Set<number>();
  /** KIP-848: bumped on each revocation, so offsets read across one are read again. */
  private revocations = 0;
  /** KIP-848: the partitions being taken over (offsets read stable, then a fresh stream). */
  private takingOver: Promise<void> | undefined;
  private takeOverAgain = false;
  /** Why the member stopped for good (fenced), for `start` to throw when it happened while joining. */
  private fatal: LoomwatchError | undefined;

  constructor(base: BaseOptions, options: ExactlyOnceOptions) {
    const protocol = options.groupProtocol ?? 'classic';
    if (protocol !== 'classic' && protocol !== 'consumer') {
      throw new LoomwatchError('CONFIG_INVALID', `kafka.groupProtocol ${String(protocol)} is not a group protocol (group ${options.groupId}): set it to 'classic' or 'consumer' (KIP-848, Kafka 4.x)`);
    }
    this.protocol = protocol;
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
    this.fatal = undefined;
    await this.connect().catch((err: unknown) => {
      // Refused the group (another member holds its group.instance.id): that error, not the client's.
      throw this.fatal ?? brokerError(err, this.base);
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
    const common = {
      ...this.base,
      groupId: this.options.groupId,
      ...(instance === undefined ? {} : { groupInstanceId: instance }),
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      autocommit: false,
      maxWaitTime: this.options.maxWaitTimeMs ?? 5000,
      highWaterMark: this.options.maxInFlight ?? 4,
    };
    // KIP-848: the session timeout and heartbeat interval are the group's, set on the broker.
    const consumer =
      this.protocol === 'consumer'
        ? new Consumer({ ...common, groupProtocol: GroupProtocols.CONSUMER, rebalanceTimeout: group.rebalanceTimeout })
        : new Consumer({ ...common, ...group });
    // A static member whose id a newer incarnation took stops for good, rather than take it back.
    if (instance !== undefined) stopsWhenFenced(consumer, (error) => void this.fenced(consumer, error));
    if (this.protocol === 'consumer') {
      followsConsumerGroupHeartbeats(consumer, {
        onAnswer: (answer) => this.heartbeatAnswered(consumer, answer),
        onError: (error) => this.heartbeatFailed(consumer, error),
        // A static member's graceful stop keeps its place (epoch -2), unless it leaves for good (see `stop`).
        leaveEpoch: () => (instance !== undefined && this.stopping && !this.leaveOnClose ? -2 : -1),
      });
    } else {
      consumer.on('consumer:group:join', (payload) => void this.assigned(consumer, payload));
      // A static member's graceful stop keeps its place, unless it leaves for good (see `stop`).
      if (instance !== undefined) leavesGroupOnlyWhen(consumer, () => !this.stopping || this.leaveOnClose);
    }
    this.consumer = consumer;
    // Subscribed for as long as the consumer lives, so replacing a stream never changes the subscription.
    consumer.topics.track(this.options.topic);
    if (this.protocol === 'classic') {
      await consumer.joinGroup(group);
      return;
    }
    // KIP-848 names assigned topics by id; the first stream joins the group (its records are
    // dropped until the assigned partitions' offsets are read: see `takeOver`).
    this.topicId = (await consumer.metadata({ topics: [this.options.topic] })).topics.get(this.options.topic)?.id;
    const stream = await this.openStream(consumer);
    if (this.consumer !== consumer) {
      await stream.close().catch(() => undefined);
      return;
    }
    this.adopt(stream, this.epoch);
  }

  private streamOptions(): ConsumeOptions<Buffer, Buffer, Buffer, Buffer> {
    return {
      topics: [this.options.topic],
      mode: MessagesStreamModes.COMMITTED,
      fallbackMode: (this.options.fromBeginning ?? true) ? MessagesStreamFallbackModes.EARLIEST : MessagesStreamFallbackModes.LATEST,
      autocommit: false,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      maxWaitTime: this.options.maxWaitTimeMs ?? 5000,
      highWaterMark: this.options.maxInFlight ?? 4,
    };
  }

  /**
   * A new stream of the consumer, listened to for errors from its creation: the client can make one
   * as it closes (a join whose answer came after the close) and destroy it on the next tick, before
   * a promise's continuation could add a listener — and an unheard stream error ends the process.
   */
  private openStream(consumer: Consumer): Promise<MessagesStream<Buffer, Buffer, Buffer, Buffer>> {
    return new Promise((resolve, reject) => {
      consumer.consume(this.streamOptions(), (error, stream) => {
        if (error !== null || stream === undefined) {
          reject(error ?? new Error('the consumer made no stream'));
          return;
        }
        stream.on('error', (err: Error) => {
          if (this.stream !== stream) this.options.logger.debug({ err, groupId: this.options.groupId }, 'a stream no longer read failed');
        });
        resolve(stream);
      });
    });
  }

  /** Makes `stream` the one records are accepted from; the previous one's records are ignored from now. */
  private adopt(stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>, epoch: number): void {
    this.stream = stream;
    if (stream.errored !== null) {
      if (this.current(epoch)) void this.crashed(stream.errored);
      return;
    }
    stream.on('data', (message) => {
      if (this.stream === stream && this.current(epoch)) this.accept(message);
    });
    stream.on('error', (error) => {
      if (this.stream === stream && this.current(epoch)) void this.crashed(error);
    });
    if (this.queued >= 2 * (this.options.maxInFlight ?? 4)) stream.pause();
  }

  /**
   * KIP-848: a ConsumerGroupHeartbeat answer, seen before the client acts on it. Its epoch is the
   * one transactions commit under from now; a partition no longer assigned is dropped at once (no
   * transaction begun from now covers it; what it decided but did not commit the next owner decides
   * again), one newly assigned is taken over once its committed offsets are read stable. Partitions
   * kept across the change keep running: their work in flight is not dropped.
   */
  private heartbeatAnswered(consumer: Consumer, answer: ConsumerGroupHeartbeatAnswer): void {
    if (this.consumer !== consumer || this.stopping || this.state === 'dead' || answer.memberEpoch <= 0) return;
    this.membership = { generationId: answer.memberEpoch, memberId: answer.memberId ?? consumer.memberId ?? '', coordinatorId: consumer.coordinatorId ?? -1 };
    if (answer.assignment === null) return;
    const partitions = answer.assignment.topicPartitions
      .filter((assigned) => assigned.topicId === this.topicId)
      .flatMap((assigned) => assigned.partitions)
      .sort((a, b) => a - b);
    const next = new Set(partitions);
    const changed = next.size !== this.assignment.size || partitions.some((partition) => !this.assignment.has(partition));
    this.assignment = next;
    let revoked = false;
    for (const [partition, state] of this.partitions) {
      if (next.has(partition)) continue;
      this.partitions.delete(partition);
      this.queued -= state.entries.length;
      revoked = true;
    }
    if (revoked) {
      this.revocations++;
      if (this.queued < 2 * (this.options.maxInFlight ?? 4)) this.stream?.resume();
    }
    if (changed) {
      this.options.logger.info({ groupId: this.options.groupId, memberEpoch: answer.memberEpoch, partitions }, 'partitions assigned');
      this.options.onAssigned?.(partitions, answer.memberEpoch);
    }
    if (partitions.some((partition) => !this.partitions.has(partition))) this.takeOverAssigned(consumer);
  }

  /**
   * KIP-848: a heartbeat refused. FENCED_MEMBER_EPOCH: the client abandons its partitions and
   * rejoins, and so does the processor (its transaction under way is refused). UNKNOWN_MEMBER_ID:
   * the coordinator removed the member (its session expired); the client would heartbeat under that
   * id forever, so the consumer is replaced and joins again.
   */
  private heartbeatFailed(consumer: Consumer, error: Error): void {
    if (this.consumer !== consumer || this.stopping || this.state === 'dead') return;
    if (hasBrokerError(error, 'FENCED_MEMBER_EPOCH')) {
      this.options.logger.warn({ err: error, groupId: this.options.groupId }, 'the coordinator fenced this member epoch: its partitions are dropped and it joins again');
      this.epoch++;
      this.partitions = new Map();
      this.assignment = new Set();
      this.queued = 0;
      this.membership = undefined;
      this.revocations++;
    } else if (hasBrokerError(error, 'UNKNOWN_MEMBER_ID')) {
      void this.crashed(error);
    }
  }

  /** KIP-848: takes over the assigned partitions not running yet, one take-over at a time. */
  private takeOverAssigned(consumer: Consumer): void {
    if (this.takingOver !== undefined) {
      this.takeOverAgain = true;
      return;
    }
    this.takingOver = (async () => {
      do {
        this.takeOverAgain = false;
        await this.takeOver(consumer);
      } while (this.takeOverAgain && this.consumer === consumer && !this.stopping);
    })()
      .catch((err: unknown) => {
        if (this.consumer === consumer && !this.stopping) void this.crashed(err as Error);
      })
      .finally(() => {
        this.takingOver = undefined;
      });
  }

  /**
   * Reads the committed offsets stable (the coordinator waits for a previous owner's transaction
   * still committing them: it committed its TxnOffsetCommit before acknowledging the revocation, or
   * has it refused), then opens a fresh stream from the committed offsets — the client's stream can
   * hold a position past them for a partition it had before — and starts the new partitions there.
   * The kept ones carry on where they are (the fresh stream's records below it are skipped).
   */
  private async takeOver(consumer: Consumer): Promise<void> {
    const epoch = this.epoch;
    const revocations = this.revocations;
    const wanted = [...this.assignment].filter((partition) => !this.partitions.has(partition));
    if (wanted.length === 0) return;
    const committed = (await this.admin?.committed(this.options.groupId, this.options.topic)) ?? new Map<number, number>();
    if (!this.current(epoch) || this.consumer !== consumer) return;
    // A partition revoked (perhaps to come back) while the offsets were read: read them again.
    if (revocations !== this.revocations) {
      this.takeOverAgain = true;
      return;
    }
    const stream = await this.openStream(consumer);
    if (!this.current(epoch) || this.consumer !== consumer || revocations !== this.revocations) {
      await stream.close().catch(() => undefined);
      if (this.current(epoch) && this.consumer === consumer) this.takeOverAgain = true;
      return;
    }
    for (const partition of wanted) {
      if (this.assignment.has(partition) && !this.partitions.has(partition)) this.partitions.set(partition, { position: BigInt(committed.get(partition) ?? 0), entries: [] });
    }
    const previous = this.stream;
    this.adopt(stream, epoch);
    this.restarts = 0;
    await previous?.close().catch(() => undefined);
  }

  private async disconnect(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    this.stream = undefined;
    this.epoch++;
    this.partitions = new Map();
    this.assignment = new Set();
    this.membership = undefined;
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
    const id = String(this.options.groupInstanceId);
    const error = isUnreleasedInstance(cause)
      ? new LoomwatchError(
          'CONFIG_INVALID',
          `another member of group ${this.options.groupId} holds group.instance.id ${id} (KIP-848 refuses the id until that member leaves or its session times out): this one stops. If a previous incarnation was killed, start again after the group's session timeout; else give each worker its own worker.groupInstanceId (WORKER_ID, the pod name of a StatefulSet)`,
          { cause },
        )
      : new LoomwatchError(
          'CONFIG_INVALID',
          `another member of group ${this.options.groupId} joined with group.instance.id ${id}, fencing this one: it stops. Give each worker its own worker.groupInstanceId (WORKER_ID, the pod name of a StatefulSet)`,
          { cause },
        );
    this.fatal = error;
    this.options.logger.error({ err: error, groupId: this.options.groupId, groupInstanceId: this.options.groupInstanceId }, 'another incarnation of this static member holds its id; stopping');
    this.epoch++;
    // Nothing more is committed: the transaction under way ends (refused), and no other begins.
    this.partitions = new Map();
    this.queued = 0;
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
      const stream = await consumer.consume(this.streamOptions());
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

  /** Whether the partition is still this member's (KIP-848 revokes one partition at a time). */
  private holds(partition: PartitionState): boolean {
    for (const held of this.partitions.values()) if (held === partition) return true;
    return false;
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
        // KIP-848: revoked while the transaction ran (its entries left the count then).
        if (!this.holds(partition)) continue;
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
      // KIP-848: a partition revoked meanwhile is left alone — its new owner may have committed past
      // these records since, so the offsets no longer say whether this transaction committed them.
      if (offset === undefined || !this.holds(partition)) continue;
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
