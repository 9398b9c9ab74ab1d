import { Admin, AuthenticationError, MultipleErrors, NetworkError, kPerformWithRetry } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { baseOptions, brokerError } from './connection.js';

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
