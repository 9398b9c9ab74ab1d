import type { Message, MessagesStream } from '@platformatic/kafka';

/**
 * Hands a stream's messages to `handle` one at a time, in arrival order (per partition that is
 * offset order), pausing the stream while a handler runs so nothing piles up in memory.
 */
export class SequentialStream {
  private readonly queue: Message[] = [];
  private busy = false;
  private readonly stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>;
  private readonly handle: (message: Message) => Promise<void>;
  private readonly onError: (error: Error) => void;

  constructor(stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>, handle: (message: Message) => Promise<void>, onError: (error: Error) => void) {
    this.stream = stream;
    this.handle = handle;
    this.onError = onError;
    stream.on('data', (message) => {
      this.queue.push(message);
      void this.drain();
    });
    stream.on('error', onError);
  }

  /** Nothing received is waiting: the handler is idle and the stream holds no unread message. */
  get idle(): boolean {
    return !this.busy && this.queue.length === 0 && this.stream.readableLength === 0;
  }

  /** The next offset the stream will fetch for the partition (past transaction markers and aborted records too). */
  fetchPosition(topic: string, partition: number): bigint | undefined {
    return this.stream.offsetsToFetch.get(`${topic}:${partition}`);
  }

  private async drain(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.stream.pause();
    try {
      for (let message = this.queue.shift(); message !== undefined; message = this.queue.shift()) await this.handle(message);
    } catch (err) {
      this.onError(err as Error);
    } finally {
      this.busy = false;
      if (!this.stream.destroyed) this.stream.resume();
    }
  }
}
