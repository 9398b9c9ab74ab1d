import { describe, expect, it } from 'vitest';
import { DeadLetter, LoomwatchError, decodeMessage } from '@loomwatch/contracts';
import type { InboundRecord } from '@loomwatch/kafka';
import { createDeadLetterHandler } from './dead-letters.js';

const config = { workerId: 'worker-a', deadLetterTopic: 'frames.dlq.v1', source: '/loomwatch/inference-worker' };

function record(value: string | Buffer, headers: Record<string, string> = {}): InboundRecord {
  return { topic: 'frames.v1', partition: 0, offset: '7', key: 'line-1:cam-1', value: Buffer.from(value), headers, timestamp: '0' };
}

describe('dead letters', () => {
  it('keep the original value, headers, position and reason', () => {
    const build = createDeadLetterHandler(config, () => new Date('2026-11-22T00:00:02Z'));
    const [message] = build(record('{oops', { ce_id: 'abc' }), new LoomwatchError('MESSAGE_NOT_JSON', 'bad json'), 1);
    expect(message?.topic).toBe('frames.dlq.v1');
    expect(message?.key).toBe('line-1:cam-1');
    expect(decodeMessage(DeadLetter, message?.value ?? null)).toEqual({
      originalValue: '{oops',
      originalValueEncoding: 'utf8',
      originalHeaders: { ce_id: 'abc' },
      originalTopic: 'frames.v1',
      originalPartition: 0,
      originalOffset: '7',
      reason: { code: 'MESSAGE_NOT_JSON', message: 'bad json' },
      attempts: 1,
      workerId: 'worker-a',
      failedAt: '2026-11-22T00:00:02.000Z',
    });
  });

  it('store a value that is not UTF-8 as base64', () => {
    const build = createDeadLetterHandler(config);
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x81]);
    const [message] = build({ ...record(''), value: binary }, new LoomwatchError('MESSAGE_NOT_JSON', 'binary'), 1);
    const letter = decodeMessage(DeadLetter, message?.value ?? null);
    expect(letter.originalValueEncoding).toBe('base64');
    expect(Buffer.from(letter.originalValue, 'base64').equals(binary)).toBe(true);
  });
});
