import { compatibilityPartitioner, ProduceAcks, Producer, type BaseOptions } from '@platformatic/kafka';
import type { OutboundMessage, Publisher, Transaction, TransactionalPublisher } from '../ports.js';
import { NEW_PRODUCER, brokerError, withClientTransactionApis } from './connection.js';
import { toProduced } from './records.js';

/** The Java client's partitioner (murmur2, sign bit masked): a key lands where any other client puts it. */
export const partitioner = compatibilityPartitioner;

/** The partition a key lands on in a topic of `partitions` partitions. */
export function partitionOf(key: string, partitions: number): number {
  const bytes = Buffer.from(key);
  return partitioner({ topic: '', key: bytes }, bytes) % partitions;
}

export class PlatformaticPublisher implements Publisher {
  private readonly producer: Producer;
  private readonly options: BaseOptions;
  private isConnected = false;

  constructor(options: BaseOptions) {
    this.options = options;
    this.producer = new Producer({ ...options, idempotent: true, acks: ProduceAcks.ALL, partitioner });
  }

  get connected(): boolean {
    return this.isConnected && this.producer.isConnected();
  }

  /** Initialises the idempotent producer id, so a broker that is down fails here rather than on the first send. */
  async connect(): Promise<void> {
    await this.producer.initIdempotentProducer(NEW_PRODUCER).catch((err: unknown) => {
      throw brokerError(err, this.options);
    });
    this.isConnected = true;
  }

  async send(messages: readonly OutboundMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await this.producer.send({ messages: messages.map(toProduced) }).catch((err: unknown) => {
      throw brokerError(err, this.options);
    });
  }

  async close(): Promise<void> {
    this.isConnected = false;
    await this.producer.close();
  }
}

export class PlatformaticTransactionalPublisher implements TransactionalPublisher {
  private readonly producer: Producer;

  constructor(options: BaseOptions, transactionalId: string) {
    this.producer = withClientTransactionApis(new Producer({ ...options, idempotent: true, transactionalId, acks: ProduceAcks.ALL, partitioner }));
  }

  /** Beginning a transaction initialises the transactional id (fencing the previous owner); cancelling it is local. */
  async connect(): Promise<void> {
    await (await this.producer.beginTransaction(NEW_PRODUCER)).cancel();
  }

  async transaction(): Promise<Transaction> {
    const transaction = await this.producer.beginTransaction(NEW_PRODUCER);
    return {
      send: async (messages) => {
        if (messages.length > 0) await transaction.send({ messages: messages.map(toProduced) });
      },
      commit: () => transaction.commit(),
      abort: () => transaction.abort(),
    };
  }

  async close(): Promise<void> {
    await this.producer.close();
  }
}
