import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import type { OutboundMessage, Publisher, Transaction, TransactionalPublisher } from '../ports.js';
import { byTopic } from './records.js';

/** kafkajs 2's default partitioner is the Java client's murmur2: a key lands where any client puts it. */
const createPartitioner = Partitioners.DefaultPartitioner;

export class KafkajsPublisher implements Publisher {
  private readonly producer: Producer;
  private isConnected = false;

  constructor(kafka: Kafka) {
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner });
    this.producer.on(this.producer.events.CONNECT, () => (this.isConnected = true));
    this.producer.on(this.producer.events.DISCONNECT, () => (this.isConnected = false));
  }

  get connected(): boolean {
    return this.isConnected;
  }

  async connect(): Promise<void> {
    await this.producer.connect();
  }

  async send(messages: readonly OutboundMessage[]): Promise<void> {
    if (messages.length > 0) await this.producer.sendBatch({ topicMessages: byTopic(messages), acks: -1 });
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}

export class KafkajsTransactionalPublisher implements TransactionalPublisher {
  private readonly producer: Producer;

  constructor(kafka: Kafka, transactionalId: string) {
    this.producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, createPartitioner });
  }

  /** kafkajs initialises the transactional id on the first `transaction()`: an empty one (whose abort sends nothing) does it now. */
  async connect(): Promise<void> {
    await this.producer.connect();
    await (await this.producer.transaction()).abort();
  }

  async transaction(): Promise<Transaction> {
    const transaction = await this.producer.transaction();
    return {
      send: async (messages) => {
        if (messages.length > 0) await transaction.sendBatch({ topicMessages: byTopic(messages) });
      },
      commit: () => transaction.commit(),
      abort: () => transaction.abort(),
    };
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}
