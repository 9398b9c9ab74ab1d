import { describe, expect, it } from 'vitest';
import { DeadLetter, encodeMessage, Verdict, type Alert, type FrameEvent } from '@loomwatch/contracts';
import type { InboundRecord } from '@loomwatch/kafka';
import { alertMessage, decodeRecord } from './records.js';
import { craftVerdict } from './testing/verdicts.js';

function record(value: Buffer | null, key?: string): InboundRecord {
  return { topic: 't', partition: 0, offset: '7', key, value, headers: {}, timestamp: '1795420800000' };
}

const frame: FrameEvent = {
  frameId: 'line-2.cam-3.42',
  lineId: 'line-2',
  cameraId: 'cam-3',
  seq: 42,
  capturedAt: '2026-11-23T08:00:00.000Z',
  image: { bucket: 'loomwatch-frames', key: 'frames/line-2/cam-3/x.png', width: 4096, height: 256, encoding: 'png', bytes: 10, sha256: 'b'.repeat(64) },
};

function deadLetter(originalValue: string): DeadLetter {
  return {
    originalValue,
    originalValueEncoding: 'utf8',
    originalHeaders: {},
    originalTopic: 'frames.v1',
    originalPartition: 0,
    originalOffset: '3',
    reason: { code: 'IMAGE_CORRUPT', message: 'not an image' },
    attempts: 1,
    workerId: 'w1',
    failedAt: '2026-11-23T08:00:01.000Z',
  };
}

describe('decodeRecord', () => {
  it('reads a verdict into a verdict event', () => {
    const verdict = craftVerdict(1, true);
    expect(decodeRecord('verdict', record(encodeMessage(Verdict, verdict)))).toEqual({ event: { type: 'verdict', verdict } });
  });

  it('takes a dead letter’s camera from its key and its frame id from the original frame', () => {
    const value = encodeMessage(DeadLetter, deadLetter(JSON.stringify(frame)));
    expect(decodeRecord('dead-letter', record(value, 'line-2:cam-3'))).toEqual({
      event: { type: 'dead-letter', lineId: 'line-2', cameraId: 'cam-3', frameId: 'line-2.cam-3.42' },
    });
  });

  it('still counts a dead letter whose original was not JSON and whose key is missing, against an unknown line', () => {
    const value = encodeMessage(DeadLetter, deadLetter('\u0000garbage'));
    expect(decodeRecord('dead-letter', record(value))).toEqual({ event: { type: 'dead-letter', lineId: 'unknown', cameraId: 'unknown' } });
  });

  it('skips a record that is not a verdict, with the reason', () => {
    expect(decodeRecord('verdict', record(Buffer.from('{"frameId": 1}')))).toEqual({ skipped: expect.stringMatching(/^MESSAGE_SCHEMA_VIOLATION/) });
    expect(decodeRecord('frame', record(null))).toEqual({ skipped: expect.stringMatching(/^MESSAGE_NOT_JSON/) });
  });
});

describe('alertMessage', () => {
  it('keys a line-wide alert lineId:* and gives each revision its own CloudEvent id', () => {
    const alert: Alert = {
      alertId: 'a'.repeat(32),
      dedupKey: 'dlq:line-2:*',
      rule: 'dlq',
      status: 'open',
      severity: 'warning',
      lineId: 'line-2',
      message: 'm',
      openedAt: '2026-11-23T08:00:00.000Z',
      updatedAt: '2026-11-23T08:00:00.000Z',
      revision: 0,
      frameIds: [],
      anomalyMaps: [],
    };
    const message = alertMessage(alert, 'alerts.v1', '/loomwatch/alerting/test');
    expect(message.key).toBe('line-2:*');
    expect(message.headers).toMatchObject({ ce_id: `${'a'.repeat(32)}.0`, ce_type: 'io.loomwatch.alert.v1', ce_time: alert.updatedAt });
  });
});
