import type { Producer, ProducerRecord } from 'kafkajs';
import { FrameEvent, decodeMessage } from '@loomwatch/contracts';

/** A stand-in for the kafkajs producer in unit tests: keeps what was sent, can fail the next sends. */
export class RecordingProducer {
  readonly sent: FrameEvent[] = [];
  /** Sends to fail before the next one succeeds; `landed` sends fail after the message was kept. */
  failures: ('lost' | 'landed')[] = [];

  send(record: ProducerRecord): Promise<[]> {
    const failure = this.failures.shift();
    if (failure === 'lost') return Promise.reject(new Error('broker timed out'));
    for (const message of record.messages) this.sent.push(decodeMessage(FrameEvent, message.value as Buffer));
    if (failure === 'landed') return Promise.reject(new Error('broker timed out after the write'));
    return Promise.resolve([]);
  }

  asProducer(): Producer {
    return this as unknown as Producer;
  }
}
