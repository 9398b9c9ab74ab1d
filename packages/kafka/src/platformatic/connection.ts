import { findErrorBy, type BaseOptions, type RetryDelayGetter } from '@platformatic/kafka';
import type { KafkaClientConfig } from '../ports.js';

/**
 * Exponential backoff. Right after a commit the broker answers CONCURRENT_TRANSACTIONS for the few
 * ms it takes to write the markers: that is retried from 5 ms (a 50 ms start put 50 ms on a third
 * to half of all transactions); anything else from 50 ms up to 2 s, as a broker restart takes seconds.
 */
const retryDelay: RetryDelayGetter = (_client, _operation, attempt, _retries, error) => {
  const first = findErrorBy(error, 'apiId', 'CONCURRENT_TRANSACTIONS') === null ? 50 : 5;
  return Math.min(2000, first * 2 ** Math.max(0, attempt - 1));
};

/** What every client of one cluster shares: brokers, id, timeouts and retries. */
export function baseOptions(config: KafkaClientConfig, clientId = config.clientId): BaseOptions {
  return {
    clientId,
    bootstrapBrokers: config.brokers,
    connectTimeout: config.connectionTimeoutMs ?? 10_000,
    requestTimeout: config.requestTimeoutMs ?? 30_000,
    retries: 10,
    retryDelay,
  };
}

/**
 * What a producer's first InitProducerId must say: "no producer yet" (-1/-1). @platformatic/kafka
 * 2.12 sends 0/0 when told nothing, which the broker takes for an epoch bump of producer 0 and
 * refuses (PRODUCER_FENCED) once the transactional id has an owner — so a successor could never fence it.
 */
export const NEW_PRODUCER = { producerId: -1n, producerEpoch: -1 } as const;
