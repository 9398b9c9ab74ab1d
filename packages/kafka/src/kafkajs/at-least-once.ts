import type { Consumer, Kafka } from 'kafkajs';
import type { AtLeastOnceOptions, RecordProcessor } from '../ports.js';
import { CrashWatch } from './crash-watch.js';
import { toInboundRecord } from './records.js';

/** A group member that handles records one at a time and commits each offset after its handler returns. */
export class KafkajsAtLeastOnce implements RecordProcessor {
  private readonly options: AtLeastOnceOptions;
  private readonly consumer: Consumer;
  private readonly crashes: CrashWatch;

  constructor(kafka: Kafka, options: AtLeastOnceOptions) {
    this.options = options;
    this.consumer = kafka.consumer({ groupId: options.groupId, readUncommitted: false });
    this.crashes = new CrashWatch(this.consumer, options.logger, options.groupId);
  }

  get running(): boolean {
    return this.crashes.running;
  }

  onFatal(listener: (error: Error) => void): void {
    this.crashes.onFatal(listener);
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.options.topic, fromBeginning: this.options.fromBeginning ?? false });
    await this.consumer.run({
      eachMessage: (payload) => this.options.handler(toInboundRecord(payload.topic, payload.partition, payload.message), () => payload.heartbeat()),
    });
    this.crashes.started();
  }

  async stop(): Promise<void> {
    this.crashes.stopped();
    await this.consumer.disconnect();
  }
}
