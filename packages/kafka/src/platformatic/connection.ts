import { readFileSync } from 'node:fs';
import { LoomwatchError } from '@loomwatch/contracts';
import { AuthenticationError, Base, addPartitionsToTxnV3, type Consumer, findErrorBy, kGetApi, kPerformWithRetry, type BaseOptions, type Producer, type RetryDelayGetter } from '@platformatic/kafka';
import type { KafkaClientConfig } from '../ports.js';
import './aborted-transactions.js';

/**
 * Exponential backoff. Right after a commit the broker answers CONCURRENT_TRANSACTIONS for the few
 * ms it takes to write the markers: that is retried from 5 ms (a 50 ms start put 50 ms on a third
 * to half of all transactions); anything else from 50 ms up to 2 s, as a broker restart takes seconds.
 */
const retryDelay: RetryDelayGetter = (_client, _operation, attempt, _retries, error) => {
  const first = findErrorBy(error, 'apiId', 'CONCURRENT_TRANSACTIONS') === null ? 50 : 5;
  return Math.min(2000, first * 2 ** Math.max(0, attempt - 1));
};

/**
 * A refused login is final: @platformatic/kafka 2.12 wraps the AuthenticationError of a wrong
 * password (or a plaintext client on a SASL_SSL listener) in a retryable NetworkError, so every
 * operation retried it `retries` times, ~15 s, before failing. Every client of this process skips
 * the retries of an error that holds one; a broker that does not answer is still retried.
 */
const perform = Base.prototype[kPerformWithRetry];
Base.prototype[kPerformWithRetry] = function (this: Base, operationId, operation, callback, attempt, errors, shouldSkipRetry, retryLimit) {
  const skip = (error: Error): boolean => isAuthenticationFailure(error) || shouldSkipRetry?.(error) === true;
  return Reflect.apply(perform, this, [operationId, operation, callback, attempt, errors, skip, retryLimit]);
};

function isAuthenticationFailure(error: unknown): boolean {
  for (const inner of errorChain(error)) if (inner instanceof AuthenticationError) return true;
  return false;
}

/** The CA file's PEM, read once per client; a missing file is a config error naming it. */
function readCa(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new LoomwatchError('CONFIG_INVALID', `kafka.tls.caFile ${path} cannot be read: point it at the PEM file of the brokers' CA`, { cause: err });
  }
}

/** What every client of one cluster shares: brokers, id, timeouts, retries, TLS and SASL. */
export function baseOptions(config: KafkaClientConfig, clientId = config.clientId): BaseOptions {
  const { tls, sasl } = config;
  return {
    clientId,
    bootstrapBrokers: config.brokers,
    connectTimeout: config.connectionTimeoutMs ?? 10_000,
    requestTimeout: config.requestTimeoutMs ?? 30_000,
    retries: 10,
    retryDelay,
    ...(tls === undefined ? {} : { tls: { rejectUnauthorized: tls.rejectUnauthorized ?? true, ...(tls.caFile === undefined ? {} : { ca: readCa(tls.caFile) }) } }),
    ...(sasl === undefined ? {} : { sasl: { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password } }),
  };
}

/**
 * What a producer's first InitProducerId must say: "no producer yet" (-1/-1). @platformatic/kafka
 * 2.12 sends 0/0 when told nothing, which the broker takes for an epoch bump of producer 0 and
 * refuses (PRODUCER_FENCED) once the transactional id has an owner — so a successor could never fence it.
 */
export const NEW_PRODUCER = { producerId: -1n, producerEpoch: -1 } as const;

/**
 * A transactional producer that sends AddPartitionsToTxn v3, as the Java client does. Since KIP-890
 * the broker lists v4 and v5 too, but they are the brokers' own (verification requests, which need
 * CLUSTER_ACTION); @platformatic/kafka 2.12 takes the highest listed version, so on a broker with
 * ACLs only a super user could add partitions to a transaction. Returns the producer it was given.
 */
export function withClientTransactionApis(producer: Producer): Producer {
  const getApi = producer[kGetApi].bind(producer);
  const patched: typeof getApi = (name, callback) => {
    if (name === 'AddPartitionsToTxn') callback(null, addPartitionsToTxnV3.api as unknown as Parameters<typeof callback>[1]);
    else getApi(name, callback);
  };
  producer[kGetApi] = patched;
  return producer;
}

/**
 * Whether a broker's answer says another member holds this static member's group.instance.id:
 * it took the id (FENCED_INSTANCE_ID, KIP-345; under KIP-848 told to a member the coordinator no
 * longer knows by that id), or, under KIP-848, still holds it (UNRELEASED_INSTANCE_ID: a join is
 * refused while the id's member is alive or has not left with epoch -2).
 */
export function isFencedInstance(error: unknown): boolean {
  for (const inner of errorChain(error)) if (inner.apiId === 'FENCED_INSTANCE_ID' || inner.apiId === 'UNRELEASED_INSTANCE_ID') return true;
  return false;
}

/** Whether a broker's answer says the id this static member asked for is held by a live member (KIP-848's join refusal). */
export function isUnreleasedInstance(error: unknown): boolean {
  for (const inner of errorChain(error)) if (inner.apiId === 'UNRELEASED_INSTANCE_ID') return true;
  return false;
}

/** The group APIs whose answer can say that this static member was fenced. */
const GROUP_APIS = new Set(['Heartbeat', 'JoinGroup', 'SyncGroup', 'OffsetCommit', 'TxnOffsetCommit', 'ConsumerGroupHeartbeat']);

/**
 * A consumer that, told FENCED_INSTANCE_ID, calls `onFenced` instead of rejoining. @platformatic/kafka
 * 2.12 treats the error as "rejoin" (it drops its member id and joins again with the same instance
 * id), which fences the newer incarnation in turn: the Java client treats it as fatal, and so do we.
 * The consumer is handed an error that is not a group error, so it does not rejoin. Returns the consumer.
 */
export function stopsWhenFenced(consumer: Consumer, onFenced: (error: Error) => void): Consumer {
  return interceptApi(consumer, (name) => GROUP_APIS.has(name), (api) => (...args) => {
    const answer = takeAnswer(args);
    api(...args, (err: unknown, response?: unknown) => {
      if (err !== null && err !== undefined && isFencedInstance(err)) {
        onFenced(err as Error);
        // Not retried either: a retry the consumer's close cuts short ends the join "successfully".
        answer(Object.assign(new Error('this static member was fenced by another incarnation (FENCED_INSTANCE_ID / UNRELEASED_INSTANCE_ID)', { cause: err }), { canRetry: false }));
        return;
      }
      answer(err, response);
    });
  });
}

/**
 * A consumer that sends LeaveGroup on close only when `leave()` says so, as the Java client's
 * static members do (KIP-345: a static member's close does not leave; KIP-1092 makes it a choice).
 * @platformatic/kafka 2.12 always leaves on close, naming the member id, and the coordinator then
 * rebalances the whole group at once — which a restarting static member is meant to spare. When
 * it stays, its close answers the leave itself: the heartbeats stop, the connections close, and the
 * coordinator keeps the member and its partitions until the same group.instance.id joins again
 * (its partitions back under the same generation, no rebalance) or the session times out.
 * Returns the consumer.
 */
export function leavesGroupOnlyWhen(consumer: Consumer, leave: () => boolean): Consumer {
  return interceptApi(consumer, (name) => name === 'LeaveGroup' && !leave(), () => (...args) => {
    takeAnswer(args)(null, { throttleTimeMs: 0, errorCode: 0, members: [] });
  });
}

/** A KIP-848 ConsumerGroupHeartbeat answer, as @platformatic/kafka 2.12 parses it. */
export interface ConsumerGroupHeartbeatAnswer {
  memberId: string | null;
  memberEpoch: number;
  /** Absent: the assignment is unchanged. Topics by id. */
  assignment: { topicPartitions: { topicId: string; partitions: number[] }[] } | null;
}

/** What a KIP-848 member does with its heartbeats (see {@link followsConsumerGroupHeartbeats}). */
export interface ConsumerGroupHeartbeatHooks {
  /** Each successful answer, before the client acts on it (its revocation acknowledged only after). */
  onAnswer(answer: ConsumerGroupHeartbeatAnswer): void;
  /** Each failed heartbeat's error (not a leave's). */
  onError(error: Error): void;
  /** The member epoch a leave sends: -1 leaves for good, -2 (a static member) keeps its place and partitions. */
  leaveEpoch(): -1 | -2;
}

/** ConsumerGroupHeartbeat's arguments as the client passes them: the member epoch is the fourth. */
const MEMBER_EPOCH_ARGUMENT = 3;

/**
 * A KIP-848 consumer whose ConsumerGroupHeartbeat answers are seen first by `hooks`: @platformatic/kafka
 * 2.12 keeps the member epoch private and announces no assignment for the `consumer` protocol (it
 * applies each answer's assignment to its streams in place), while a transaction must commit offsets
 * under that epoch and stop covering a partition the moment the coordinator takes it back. The answer
 * reaches `onAnswer` before the client acknowledges a revocation (its next heartbeat, after a
 * metadata request), so no transaction begun after the revocation covers the partition; one under
 * way is refused once the acknowledgement moved the epoch on (TxnOffsetCommit: ILLEGAL_GENERATION),
 * or committed before it, which the new owner's stable read of the offsets waits for. The client
 * always leaves with epoch -1; `leaveEpoch` can make it -2, a static member's temporary leave.
 * Returns the consumer.
 */
export function followsConsumerGroupHeartbeats(consumer: Consumer, hooks: ConsumerGroupHeartbeatHooks): Consumer {
  return interceptApi(consumer, (name) => name === 'ConsumerGroupHeartbeat', (api) => (...args) => {
    const answer = takeAnswer(args);
    const leaving = args[MEMBER_EPOCH_ARGUMENT] === -1;
    if (leaving) args[MEMBER_EPOCH_ARGUMENT] = hooks.leaveEpoch();
    api(...args, (err: unknown, response?: unknown) => {
      if (!leaving) {
        if (err !== null && err !== undefined) hooks.onError(err as Error);
        else if (response !== undefined) hooks.onAnswer(response as ConsumerGroupHeartbeatAnswer);
      }
      answer(err, response);
    });
  });
}

/** Whether a client error carries the broker's error `apiId` (UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH…). */
export function hasBrokerError(error: unknown, apiId: string): boolean {
  for (const inner of errorChain(error)) if (inner.apiId === apiId) return true;
  return false;
}

/** A client API as the connection calls it: the arguments, then a callback with the answer. */
type RawApi = ((...args: unknown[]) => void) & { async: unknown; key: number; version: number };
type GetRawApi = (name: string, callback: (error: Error | null, api?: RawApi) => void) => void;
type Answer = (error: unknown, response?: unknown) => void;

/** The callback a raw API call ends with, taken off its arguments (a no-op when there is none). */
function takeAnswer(args: unknown[]): Answer {
  return typeof args[args.length - 1] === 'function' ? (args.pop() as Answer) : () => undefined;
}

/**
 * The client's API `name` replaced, for every name `intercepts` picks, by `wrap(api)` — called with
 * the arguments the client passes, its answer callback last. The one way this package reaches into
 * @platformatic/kafka's requests (fencing, leaving, KIP-848 heartbeats). Returns the client.
 */
function interceptApi<T extends Consumer | Producer>(client: T, intercepts: (name: string) => boolean, wrap: (api: RawApi) => (...args: unknown[]) => void): T {
  const getApi = client[kGetApi].bind(client) as unknown as GetRawApi;
  const patched: GetRawApi = (name, callback) => {
    if (!intercepts(name)) {
      getApi(name, callback);
      return;
    }
    getApi(name, (error, api) => {
      if (error !== null || api === undefined) {
        callback(error, api);
        return;
      }
      callback(null, Object.assign(wrap(api), { async: api.async, key: api.key, version: api.version }));
    });
  };
  client[kGetApi] = patched as unknown as T[typeof kGetApi];
  return client;
}

/** The errors a client's error carries, depth first: platformatic nests them in `errors` and `cause`. */
function* errorChain(error: unknown, depth = 0): Generator<Error & { code?: unknown; apiId?: unknown }> {
  if (!(error instanceof Error) || depth > 8) return;
  yield error;
  for (const inner of (error as { errors?: unknown[] }).errors ?? []) yield* errorChain(inner, depth + 1);
  yield* errorChain(error.cause, depth + 1);
}

/**
 * A refused login, a missing ACL or no broker answering as a typed error that says what to check
 * (naming the principal or the brokers); anything else (an error already typed too) unchanged. The
 * client's own words stay in `cause`.
 */
export function brokerError(error: unknown, options: BaseOptions): unknown {
  if (error instanceof LoomwatchError) return error;
  const principal = options.sasl === undefined ? 'the anonymous (plaintext) principal' : `principal ${String(options.sasl.username)}`;
  const chain = [...errorChain(error)];
  for (const inner of chain) {
    if (inner.code === 'PLT_KFK_AUTHENTICATION') {
      return new LoomwatchError(
        'BROKER_AUTH_FAILED',
        `Kafka refused the connection of ${principal}: ${inner.message} Check kafka.sasl (username, password, mechanism) and kafka.tls: a SASL_SSL listener needs both.`,
        { cause: error },
      );
    }
    if (typeof inner.apiId === 'string' && inner.apiId.endsWith('_AUTHORIZATION_FAILED')) {
      return new LoomwatchError(
        'BROKER_ACCESS_DENIED',
        `Kafka denied ${principal} (${inner.apiId}): grant it the ACL it needs (deploy/local/kafka/acls.txt lists each service's).`,
        { cause: error },
      );
    }
  }
  const network = chain.find((inner) => inner.code === 'PLT_KFK_NETWORK');
  if (network !== undefined) {
    // The socket's own words ("connect ECONNREFUSED 127.0.0.1:19092", "getaddrinfo ENOTFOUND kafka") say most.
    const reason = network.cause instanceof Error ? network.cause.message : network.message;
    return new LoomwatchError(
      'BROKER_UNAVAILABLE',
      `no Kafka broker answers at ${options.bootstrapBrokers.map((broker) => (typeof broker === 'string' ? broker : `${broker.host}:${broker.port}`)).join(', ')} (${reason}): start the brokers (locally: deploy/local/infra.sh start) or point kafka.brokers (KAFKA_BROKERS) at yours`,
      { cause: network, retryable: true },
    );
  }
  return error;
}
