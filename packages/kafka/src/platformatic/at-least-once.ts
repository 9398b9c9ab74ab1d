import { Consumer, FetchIsolationLevels, MessagesStreamFallbackModes, MessagesStreamModes, type BaseOptions, type MessagesStream } from '@platformatic/kafka';
import type { AtLeastOnceOptions, RecordProcessor, StopOptions } from '../ports.js';
import { brokerError } from './connection.js';
import { toInboundRecord } from './records.js';
import { SequentialStream } from './sequential-stream.js';

/**
 * A group member that handles records one at a time and commits each offset after its handler
 * returns. A handler that throws is fatal: nothing after that record is handled or committed, the
 * member leaves the group (so the record goes to the next owner, from its committed offset) and
 * `onFatal` listeners are told.
 */
export class PlatformaticAtLeastOnce implements RecordProcessor {
  private readonly base: BaseOptions;
  private readonly options: AtLeastOnceOptions;
  private readonly listeners: ((error: Error) => void)[] = [];
  private consumer: Consumer | undefined;
  /** The close a failure began; `stop` waits for it. */
  private closing: Promise<void> | undefined;
  private state: 'idle' | 'running' | 'dead' = 'idle';

  constructor(base: BaseOptions, options: AtLeastOnceOptions) {
    this.base = base;
    this.options = options;
  }

  get running(): boolean {
    return this.state === 'running';
  }

  onFatal(listener: (error: Error) => void): void {
    this.listeners.push(listener);
  }

  async start(): Promise<void> {
    const consumer = new Consumer({ ...this.base, groupId: this.options.groupId, isolationLevel: FetchIsolationLevels.READ_COMMITTED, autocommit: false, highWaterMark: 16 });
    this.consumer = consumer;
    const stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> = await consumer.consume({
      topics: [this.options.topic],
      mode: MessagesStreamModes.COMMITTED,
      fallbackMode: this.options.fromBeginning === true ? MessagesStreamFallbackModes.EARLIEST : MessagesStreamFallbackModes.LATEST,
      autocommit: false,
    }).catch((err: unknown) => {
      throw brokerError(err, this.base);
    });
    new SequentialStream(
      stream,
      async (message) => {
        // The client heartbeats on its own timer, however long a handler takes.
        await this.options.handler(toInboundRecord(message), () => Promise.resolve());
        await message.commit();
      },
      (error) => this.failed(error),
    );
    this.state = 'running';
  }

  private failed(error: Error): void {
    if (this.state !== 'running') return;
    this.state = 'dead';
    this.options.logger.error({ err: error, groupId: this.options.groupId }, 'consumer failed for good');
    this.closing = this.consumer?.close(true).catch(() => undefined);
    this.consumer = undefined;
    for (const listener of this.listeners) listener(error);
  }

  /** Always leaves the group: this member is dynamic (no group.instance.id), whatever `options` say. */
  async stop(_options?: StopOptions): Promise<void> {
    this.state = 'idle';
    await this.closing;
    await this.consumer?.close(true);
    this.consumer = undefined;
  }
}
