/**
 * What Loomwatch asks of Kafka, without naming a client library. Services and tests see only
 * these ports; `createKafkaClient` (on @platformatic/kafka) implements them, and the contract suite
 * (`kafka-ports.contract.ts`) holds any adapter to the same behaviour on a real broker.
 *
 * Offsets are numbers: exact up to 2^53, far beyond what a topic reaches.
 */
import type { LoomwatchError } from '@loomwatch/contracts';
import type { Logger } from '@loomwatch/observability';
import type { BackoffOptions } from '@loomwatch/concurrency';

/** A consumed record, detached from any client's types. */
export interface InboundRecord {
  topic: string;
  partition: number;
  /** The record's offset, as a decimal string (Kafka's int64). */
  offset: string;
  key: string | undefined;
  value: Buffer | null;
  headers: Record<string, string>;
  /** Broker timestamp, ms since epoch, as a decimal string. */
  timestamp: string;
}

/** A record to produce. A key always lands on the same partition (murmur2, as the Java client). */
export interface OutboundMessage {
  topic: string;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

// ── Processing: consume → decide → produce ────────────────────────────────────────────────

/**
 * Decides one record. Returns the messages that are its outcome (a verdict, a dead letter…).
 * Throw a retryable `LoomwatchError` for transient trouble: the record is retried with backoff and
 * its offset does not move. Anything else thrown goes to `onPermanentError`.
 */
export type RecordHandler = (record: InboundRecord, attempt: number) => Promise<OutboundMessage[]>;

/** Turns a record that failed for good into its outcome, usually a dead letter. */
export type PermanentErrorHandler = (record: InboundRecord, error: LoomwatchError, attempts: number) => OutboundMessage[];

export interface ExactlyOnceOptions {
  groupId: string;
  topic: string;
  handler: RecordHandler;
  onPermanentError: PermanentErrorHandler;
  logger: Logger;
  /** Prefix of the transactional ids. @defaultValue the group id */
  transactionalIdPrefix?: string;
  /** Records decided at once across all partitions (prefetch depth). @defaultValue 4 */
  maxInFlight?: number;
  /** Records of one partition decided at once; outcomes still commit in offset order. @defaultValue 2 */
  maxInFlightPerPartition?: number;
  /** @defaultValue 4 */
  partitionsConsumedConcurrently?: number;
  /** Where a group with no committed offset starts. @defaultValue true */
  fromBeginning?: boolean;
  /** The classic protocol's; under KIP-848 the session timeout is the group's, on the broker (45 s by default). @defaultValue 30000 */
  sessionTimeoutMs?: number;
  /** How long a fetch waits for new records; also how long `stop` can take. @defaultValue 5000 */
  maxWaitTimeMs?: number;
  /** @defaultValue 60000 */
  rebalanceTimeoutMs?: number;
  /** Heartbeats are sent this often while records are being decided (classic; KIP-848's interval is the group's). @defaultValue 2000 */
  heartbeatIntervalMs?: number;
  /** Backoff between attempts on retryable errors. */
  retry?: BackoffOptions & {
    /** After this long the batch fails without committing, and is fetched again. @defaultValue 120000 */
    maxElapsedMs?: number;
  };
  /** Called after each committed transaction with the records it covered. */
  onCommitted?: (records: readonly InboundRecord[], outputs: readonly OutboundMessage[]) => void;
  /**
   * Called when the group hands this member its partitions, before they are read: each generation
   * (classic), or each change of its partitions with the member epoch it came with (KIP-848).
   */
  onAssigned?: (partitions: readonly number[], generation: number) => void;
  /**
   * Static membership (KIP-345): a member restarted with the same id within the session timeout
   * gets its partitions back without a rebalance, and a second live member with the same id fences
   * the first (which stops, fatally). Unique per worker. @defaultValue the client's, else none (a dynamic member)
   */
  groupInstanceId?: string | undefined;
  /** @defaultValue the client's, else 'classic' (see {@link GroupProtocol}) */
  groupProtocol?: GroupProtocol | undefined;
}

/**
 * The group protocol: 'classic' (JoinGroup/SyncGroup, every join or leave stops the whole group) or
 * 'consumer' (KIP-848, the broker moves only the partitions that change hands and a member's kept
 * partitions run on; Kafka 4.x). Under KIP-848 a static member killed without leaving holds its id
 * until the group's session timeout: its restart is refused (fatal) until then.
 */
export type GroupProtocol = 'classic' | 'consumer';

export interface AtLeastOnceOptions {
  groupId: string;
  topic: string;
  /**
   * Handles one record; its offset is committed after it returns, so a crash repeats it. Call
   * `heartbeat` during long work (retries with backoff) to keep the group membership.
   */
  handler: (record: InboundRecord, heartbeat: () => Promise<void>) => Promise<void>;
  logger: Logger;
  /** Where a group with no committed offset starts. @defaultValue false (the end) */
  fromBeginning?: boolean;
}

/**
 * How a member stops (KIP-1092's close options). A member that leaves (LeaveGroup) has its
 * partitions handed to the others at once, in a rebalance; one that stays keeps them, unread,
 * until it comes back under the same `groupInstanceId` (same partitions, same generation, nobody
 * revoked) or its session times out.
 */
export interface StopOptions {
  /**
   * @defaultValue a dynamic member leaves (it could never come back as the same member); a static
   * member stays — it is restarting — unless the process said it is going away for good
   * (`leaveGroupsOnStop()`).
   */
  leaveGroup?: boolean;
}

/** A consumer-group member that runs until stopped. */
export interface RecordProcessor {
  /** Joins the group and starts processing; resolves once the consumer runs. */
  start(): Promise<void>;
  /**
   * Stops fetching; records decided but not committed are decided again by the next owner.
   * Whether the member leaves its group: see {@link StopOptions}.
   */
  stop(options?: StopOptions): Promise<void>;
  /**
   * Whether the consumer is running: false before `start`, after `stop`, and after a crash the
   * client does not recover from (`onFatal` is called then).
   */
  readonly running: boolean;
  /** Called once when the consumer crashed for good; the process should stop and be restarted. */
  onFatal(listener: (error: Error) => void): void;
}

// ── Publishing ────────────────────────────────────────────────────────────────────────────

/** An idempotent producer; a send returns once every in-sync replica has the messages. */
export interface Publisher {
  connect(): Promise<void>;
  send(messages: readonly OutboundMessage[]): Promise<void>;
  /** Whether the producer is connected to the brokers now. */
  readonly connected: boolean;
  close(): Promise<void>;
}

export interface Transaction {
  send(messages: readonly OutboundMessage[]): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** A transactional producer: what a transaction sends is seen by read_committed readers all at once, or never. */
export interface TransactionalPublisher {
  /** Initialises the transactional id, which fences (and aborts the open transaction of) any older owner. */
  connect(): Promise<void>;
  transaction(): Promise<Transaction>;
  close(): Promise<void>;
}

// ── Reading ───────────────────────────────────────────────────────────────────────────────

/** Offsets `[from, to)` of one partition. */
export interface PartitionRange {
  topic: string;
  partition: number;
  from: number;
  to: number;
}

/** Return `'stop'` to end a read early (every record wanted has been seen). */
export type RecordVisitor = (record: InboundRecord) => void | 'stop' | Promise<void | 'stop'>;

export interface ReadOptions {
  /** Fail (BROKER_UNAVAILABLE) when no partition moves for this long. @defaultValue 120000 — past a transaction's timeout (60 s), after which the broker aborts it. */
  idleTimeoutMs?: number;
}

export interface FollowOptions {
  /** @defaultValue 'beginning' */
  from?: 'beginning' | 'end';
  /** From the beginning: fail when the records the topic held at the call are not read by then. @defaultValue 30000 */
  catchUpTimeoutMs?: number;
}

/** A follow under way. It ends by `stop`, or when following fails (the consumer's stream errs); then it follows no more. */
export interface Subscription {
  stop(): Promise<void>;
  /** Whether records are still being followed: false after `stop` and after a failure. */
  readonly running: boolean;
  /**
   * Called once when following failed for good (the subscription is closed then): the owner is
   * not ready until it follows again (`follow` anew, with backoff). A visitor's own error is not
   * a failure: it is logged and the next record is visited.
   */
  onFatal(listener: (error: Error) => void): void;
}

/**
 * Reads committed records (read_committed) with a throw-away group that never commits. Records
 * of a partition arrive in offset order; aborted records and transaction markers are skipped but
 * count as read, so a range that ends in them still ends.
 */
export interface TopicReader {
  /** The records of the ranges; resolves when every range is read to its end (or a visitor said stop). */
  readRanges(ranges: readonly PartitionRange[], visit: RecordVisitor, options?: ReadOptions): Promise<void>;
  /** Every record of the topics from their start to where they ended at the call. */
  readToEnd(topics: readonly string[], visit: RecordVisitor, options?: ReadOptions): Promise<void>;
  /**
   * Reads a topic and keeps following it. From the beginning — for a compacted topic, the latest
   * value of every key — it resolves once the records the topic held at the call have been visited,
   * so the caller starts from a known state. A visitor's `'stop'` is ignored here.
   */
  follow(topic: string, visit: RecordVisitor, options?: FollowOptions): Promise<Subscription>;
}

// ── Broker offsets and topics ────────────────────────────────────────────────────────────

export interface Watermarks {
  partition: number;
  /** The first offset still held. */
  low: number;
  /** One past the last offset written. */
  high: number;
}

/** The broker's offsets: watermarks, offsets by time, a group's committed offsets. */
export interface BrokerOffsets {
  watermarks(topic: string): Promise<Watermarks[]>;
  /** The first offset of each partition whose record time is at or after `timeMs` (the high watermark when none is). */
  offsetsAtTime(topic: string, timeMs: number): Promise<Map<number, number>>;
  /** The group's committed offsets, for the partitions that have one. */
  committed(groupId: string, topic: string): Promise<Map<number, number>>;
  /** Commits `offsets` for a group that has no running member. */
  setCommitted(groupId: string, topic: string, offsets: ReadonlyMap<number, number>): Promise<void>;
  /** Deletes an empty group; best effort (an empty group also expires on its own). */
  deleteGroup(groupId: string): Promise<void>;
  close(): Promise<void>;
}

export interface TopicSpec {
  topic: string;
  /** @defaultValue 1 */
  numPartitions?: number;
  /** @defaultValue the brokers' `default.replication.factor` */
  replicationFactor?: number;
  configEntries?: { name: string; value: string }[];
}

/** A topic as the cluster holds it. */
export interface TopicState {
  topic: string;
  partitions: number;
  /** The fewest replicas any of its partitions has. */
  replicationFactor: number;
  /** Its topic configs, defaults included, by Kafka's names (`retention.ms`…). */
  configs: Record<string, string>;
}

/**
 * Creating, checking and changing topics. Services only check theirs (`requireTopics`); topics
 * are made from the declaration by `loomwatch topics apply`, and tests make their own.
 */
export interface TopicAdmin {
  /** Creates the topics that do not exist yet and waits until every partition has a leader. */
  ensure(topics: readonly TopicSpec[], timeoutMs?: number): Promise<void>;
  /** The topics among `topics` that exist, with their partitions, replication and configs; a missing one is absent. */
  describe(topics: readonly string[]): Promise<Map<string, TopicState>>;
  /** Sets these configs of a topic, leaving the others. */
  alterConfigs(topic: string, configs: Readonly<Record<string, string>>): Promise<void>;
  /** Grows a topic to `partitions`. Kafka cannot shrink one; a key may land on another partition after. */
  grow(topic: string, partitions: number): Promise<void>;
  /** How many brokers the cluster has now. */
  brokerCount(): Promise<number>;
  /** The topics this principal may see. */
  list(): Promise<string[]>;
  delete(topics: readonly string[]): Promise<void>;
}

// ── The client ───────────────────────────────────────────────────────────────────────────

/** Everything above, for one cluster. Each part opens its own connections and closes them itself. */
export interface KafkaClient {
  exactlyOnce(options: ExactlyOnceOptions): RecordProcessor;
  atLeastOnce(options: AtLeastOnceOptions): RecordProcessor;
  publisher(): Publisher;
  transactionalPublisher(transactionalId: string): TransactionalPublisher;
  readonly reader: TopicReader;
  readonly topics: TopicAdmin;
  /** An admin session, connected on first use; close it when done. */
  offsets(): BrokerOffsets;
}

/** SASL credentials of the service's principal (SCRAM-SHA-512 on the secured local broker). */
export interface KafkaSasl {
  mechanism: 'SCRAM-SHA-512' | 'SCRAM-SHA-256' | 'PLAIN';
  username: string;
  password: string;
}

/** TLS to the brokers; absent: plaintext. */
export interface KafkaTls {
  /** PEM file of the CA that signed the brokers' certificates. @defaultValue the system's CAs */
  caFile?: string | undefined;
  /** @defaultValue true */
  rejectUnauthorized?: boolean | undefined;
}

export interface KafkaClientConfig {
  brokers: string[];
  clientId: string;
  sasl?: KafkaSasl | undefined;
  tls?: KafkaTls | undefined;
  /** @defaultValue 10000 */
  connectionTimeoutMs?: number;
  /** @defaultValue 30000 */
  requestTimeoutMs?: number;
  /** The group protocol of this client's processors. @defaultValue 'classic' */
  groupProtocol?: GroupProtocol | undefined;
  /** The static member id of this client's exactly-once processors (see {@link ExactlyOnceOptions.groupInstanceId}). */
  groupInstanceId?: string | undefined;
}
