import type { BaseOptions, RetryDelayGetter } from '@platformatic/kafka';
import type { KafkaClientConfig } from '../ports.js';

/** Exponential from 50 ms to 2 s: a broker answers CONCURRENT_TRANSACTIONS for a few ms after a commit, and restarts take seconds. */
const retryDelay: RetryDelayGetter = (_client, _operation, attempt) => Math.min(2000, 50 * 2 ** Math.max(0, attempt - 1));

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
