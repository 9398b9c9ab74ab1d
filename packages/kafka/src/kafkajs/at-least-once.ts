import type { Kafka } from 'kafkajs';
import type { AtLeastOnceOptions, RecordProcessor } from '../ports.js';
import { WatchedConsumer } from './watched-consumer.js';
import { toInboundRecord } from './records.js';

/** A group member that handles records one at a time and commits each offset after its handler returns. */
export class KafkajsAtLeastOnce extends WatchedConsumer implements RecordProcessor {
  private readonly options: AtLeastOnceOptions;

  constructor(kafka: Kafka, options: AtLeastOnceOptions) {
    super(kafka.consumer({ groupId: options.groupId, readUncommitted: false }), options.logger, options.groupId);
    this.options = options;
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.options.topic, fromBeginning: this.options.fromBeginning ?? false });
    await this.consumer.run({
      eachMessage: (payload) => this.options.handler(toInboundRecord(payload.topic, payload.partition, payload.message), () => payload.heartbeat()),
    });
    this.started();
  }

  async stop(): Promise<void> {
    this.stopped();
    await this.consumer.disconnect();
  }
}
