import { DeadLetter, EVENT_TYPES, cloudEventHeaders, encodeMessage, type LoomwatchError } from '@loomwatch/contracts';
import type { InboundRecord, OutboundMessage, PermanentErrorHandler } from '@loomwatch/kafka';

interface DeadLetterConfig {
  /** Shown in the dead letter. */
  workerId: string;
  deadLetterTopic: string;
  /** CloudEvents source of the dead letters. */
  source: string;
}

/**
 * The exactly-once processor's `PermanentErrorHandler` for frame records: a frame that cannot be
 * decided ends in a dead letter keeping the original message, its position and the reason.
 */
export function createDeadLetterHandler(config: DeadLetterConfig, now: () => Date = () => new Date()): PermanentErrorHandler {
  return function deadLetter(record: InboundRecord, error: LoomwatchError, attempts: number): OutboundMessage[] {
    const value = record.value ?? Buffer.alloc(0);
    const utf8 = value.toString('utf8');
    const isUtf8 = Buffer.from(utf8, 'utf8').equals(value);
    const letter: DeadLetter = {
      originalValue: (isUtf8 ? utf8 : value.toString('base64')).slice(0, 900_000),
      originalValueEncoding: isUtf8 ? 'utf8' : 'base64',
      originalHeaders: record.headers,
      originalTopic: record.topic,
      originalPartition: record.partition,
      originalOffset: record.offset,
      reason: { code: error.code, message: error.message.slice(0, 4096) },
      attempts,
      workerId: config.workerId,
      failedAt: now().toISOString(),
    };
    return [
      {
        topic: config.deadLetterTopic,
        key: record.key ?? 'unknown:unknown',
        value: encodeMessage(DeadLetter, letter),
        headers: {
          ...cloudEventHeaders(EVENT_TYPES.deadLetter, config.source, { parentTraceparent: record.headers['traceparent'] }),
        },
      },
    ];
  };
}
