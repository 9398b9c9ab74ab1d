import { FrameEvent, decodeMessage } from '@loomwatch/contracts';
import type { OutboundMessage, Publisher } from '@loomwatch/kafka';

/** A stand-in for the Kafka publisher in unit tests: keeps what was sent, can fail the next sends. */
export class RecordingPublisher implements Publisher {
  readonly sent: FrameEvent[] = [];
  /** Sends to fail before the next one succeeds; `landed` sends fail after the message was kept. */
  failures: ('lost' | 'landed')[] = [];
  connected = false;

  connect(): Promise<void> {
    this.connected = true;
    return Promise.resolve();
  }

  send(messages: readonly OutboundMessage[]): Promise<void> {
    const failure = this.failures.shift();
    if (failure === 'lost') return Promise.reject(new Error('broker timed out'));
    for (const message of messages) this.sent.push(decodeMessage(FrameEvent, message.value));
    if (failure === 'landed') return Promise.reject(new Error('broker timed out after the write'));
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.connected = false;
    return Promise.resolve();
  }
}
