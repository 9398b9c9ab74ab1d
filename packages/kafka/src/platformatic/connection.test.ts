import { Admin, AuthenticationError, Consumer, MultipleErrors, NetworkError, kGetApi, kPerformWithRetry } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { baseOptions, brokerError, followsConsumerGroupHeartbeats } from './connection.js';

const options = baseOptions({ brokers: ['kafka-0:9092', 'kafka-1:9092'], clientId: 'test' });

/** Nested as @platformatic/kafka 2.12 throws it when no broker accepts a connection. */
function noBroker(): MultipleErrors {
  const refused = (broker: string) => new NetworkError(`Connection to ${broker} failed.`, { cause: new Error(`connect ECONNREFUSED ${broker}`) });
  const attempt = new MultipleErrors('Cannot connect to any broker.', [refused('kafka-0:9092'), refused('kafka-1:9092')]);
  return new MultipleErrors('Listing topics failed.', [new MultipleErrors('metadata failed 11 times.', [attempt, attempt])]);
}

describe('brokerError', () => {
  it('says which brokers do not answer, why, and what to do — retryable, with the socket error as its cause', () => {
    const error = brokerError(noBroker(), options);
    expect(error).toMatchObject({
      code: 'BROKER_UNAVAILABLE',
      retryable: true,
      message: 'no Kafka broker answers at kafka-0:9092, kafka-1:9092 (connect ECONNREFUSED kafka-0:9092): start the brokers (locally: deploy/local/infra.sh start) or point kafka.brokers (KAFKA_BROKERS) at yours',
    });
    expect((error as Error).cause).toBeInstanceOf(NetworkError);
  });

  it('names the principal of a refused login, even when the connection then drops', () => {
    const refused = new MultipleErrors('Listing topics failed.', [new AuthenticationError('SASL authentication failed.'), noBroker()]);
    expect(brokerError(refused, baseOptions({ brokers: ['kafka-0:9093'], clientId: 'test', sasl: { mechanism: 'SCRAM-SHA-512', username: 'worker', password: 'x' } }))).toMatchObject({
      code: 'BROKER_AUTH_FAILED',
      message: expect.stringContaining('principal worker') as unknown,
    });
  });

  it('leaves any other error as it is', () => {
    const other = new Error('something else');
    expect(brokerError(other, options)).toBe(other);
  });
});

describe('the retries of a client', () => {
  /** How many times a client tries an operation that always fails with `error`. */
  function attempts(error: () => Error): Promise<number> {
    const admin = new Admin({ ...baseOptions({ brokers: ['kafka-0:9092'], clientId: 'test' }), retries: 3, retryDelay: 0 });
    let count = 0;
    return new Promise((resolve) => {
      void admin[kPerformWithRetry](
        'test',
        (callback) => {
          count++;
          callback(error());
        },
        () => void admin.close(() => resolve(count)),
      );
    });
  }

  it('stop at a refused login, which waiting does not change', async () => {
    expect(await attempts(() => new NetworkError('Connection to kafka-0:9092 failed.', { cause: new AuthenticationError('SASL authentication failed.') }))).toBe(1);
  });

  it('go on while no broker answers', async () => {
    expect(await attempts(() => new NetworkError('Connection to kafka-0:9092 failed.', { cause: new Error('connect ECONNREFUSED') }))).toBe(4);
  });
});

describe('followsConsumerGroupHeartbeats', () => {
  /** A consumer whose ConsumerGroupHeartbeat answers `answer`, recording the member epoch each request sent. */
  function consumerAnswering(answer: (epoch: number) => [Error | null, unknown]): { consumer: Consumer; epochs: number[] } {
    const consumer = new Consumer({ ...options, groupId: 'workers', groupProtocol: 'consumer' });
    const epochs: number[] = [];
    const api = Object.assign(
      (...args: unknown[]) => {
        const callback = args.pop() as (error: Error | null, response?: unknown) => void;
        epochs.push(args[3] as number);
        const [error, response] = answer(args[3] as number);
        callback(error, response);
      },
      { async: undefined, key: 68, version: 1 },
    );
    consumer[kGetApi] = ((_name: string, callback: (error: null, api: unknown) => void) => callback(null, api)) as unknown as Consumer[typeof kGetApi];
    return { consumer, epochs };
  }
  /** Sends one heartbeat with `epoch` through the consumer's ConsumerGroupHeartbeat, as the client does. */
  const heartbeat = (consumer: Consumer, epoch: number): Promise<[unknown, unknown]> =>
    new Promise((resolve) => {
      consumer[kGetApi]('ConsumerGroupHeartbeat', (_error, api) => {
        (api as unknown as (...args: unknown[]) => void)(null, 'workers', 'member-1', epoch, 'worker-0', null, 60_000, ['frames.v1'], null, null, [], (error: unknown, response: unknown) => resolve([error, response]));
      });
    });

  it('shows each answer to the hooks before the client, and each failure, but not a leave’s', async () => {
    const answer = { memberId: 'member-1', memberEpoch: 7, heartbeatIntervalMs: 5000, assignment: { topicPartitions: [{ topicId: 'topic-id', partitions: [0, 2] }] } };
    const refused = new Error('FENCED_MEMBER_EPOCH');
    const { consumer } = consumerAnswering((epoch) => (epoch === 3 ? [refused, undefined] : [null, answer]));
    const seen: unknown[] = [];
    followsConsumerGroupHeartbeats(consumer, { onAnswer: (a) => void seen.push(a), onError: (e) => void seen.push(e), leaveEpoch: () => -1 });
    expect(await heartbeat(consumer, 6)).toEqual([null, answer]);
    expect(await heartbeat(consumer, 3)).toEqual([refused, undefined]);
    await heartbeat(consumer, -1);
    expect(seen).toEqual([answer, refused]);
  });

  it('sends a leave with the epoch the hooks say: -2 for a static member keeping its place, else the client’s -1', async () => {
    const { consumer, epochs } = consumerAnswering(() => [null, { memberId: 'member-1', memberEpoch: -2, heartbeatIntervalMs: 0, assignment: null }]);
    let stays = true;
    followsConsumerGroupHeartbeats(consumer, { onAnswer: () => undefined, onError: () => undefined, leaveEpoch: () => (stays ? -2 : -1) });
    await heartbeat(consumer, -1);
    stays = false;
    await heartbeat(consumer, -1);
    await heartbeat(consumer, 5);
    expect(epochs).toEqual([-2, -1, 5]);
  });
});
