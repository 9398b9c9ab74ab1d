import type { Message, MessagesStream } from '@platformatic/kafka';

/** Messages held before the stream is paused (and resumed once half of them are handled). */
const HIGH_WATER = 1024;

/**
 * Hands a stream's messages to `handle` one at a time, in arrival order (per partition that is
 * offset order), pausing the stream while too many wait so nothing piles up in memory. A handler
 * that throws ends it: `onError` is called once and no later message is handled, so an owner that
 * commits after each message never commits past the one that failed.
 */
export class SequentialStream {
  private readonly queue: Message[] = [];
  private busy = false;
  private paused = false;
  private failed = false;
  private readonly stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>;
  private readonly handle: (message: Message) => Promise<void>;
  private readonly onError: (error: Error) => void;

  constructor(stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>, handle: (message: Message) => Promise<void>, onError: (error: Error) => void) {
    this.stream = stream;
    this.handle = handle;
    this.onError = onError;
    stream.on('data', (message) => {
      this.queue.push(message);
      if (this.queue.length >= HIGH_WATER && !this.paused) {
        this.paused = true;
        stream.pause();
      }
      void this.drain();
    });
    stream.on('error', (error: Error) => this.fail(error));
  }

  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.queue.length = 0;
    this.onError(error);
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
    if (this.busy || this.failed) return;
    this.busy = true;
    try {
      for (let message = this.queue.shift(); message !== undefined; message = this.queue.shift()) {
        await this.handle(message);
        if (this.paused && this.queue.length < HIGH_WATER / 2 && !this.stream.destroyed) {
          this.paused = false;
          this.stream.resume();
        }
      }
    } catch (err) {
      this.fail(err as Error);
    } finally {
      this.busy = false;
    }
  }
}
