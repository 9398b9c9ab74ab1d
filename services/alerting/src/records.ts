/**
 * Kafka records to engine events, and alerts to Kafka messages: validated both ways. A record
 * the alerting service cannot read is skipped with a reason (it is someone else's outcome, not
 * ours to dead-letter); an alert is validated before it is produced.
 */
import {
  Alert,
  DeadLetter,
  DriftEvent,
  EVENT_TYPES,
  Feedback,
  FrameEvent,
  Id,
  Verdict,
  cloudEventHeaders,
  decodeMessage,
  encodeMessage,
  messageKey,
  parseMessageKey,
  toLoomwatchError,
} from '@loomwatch/contracts';
import type { InboundRecord, OutboundMessage } from '@loomwatch/kafka';
import type { AlertEvent } from './engine.js';

export type InputKind = 'verdict' | 'frame' | 'dead-letter' | 'drift' | 'feedback';

type Decoded = { event: AlertEvent } | { skipped: string };

/** A dead letter's line, camera and frame: from the message key, else from the original frame. */
function deadLetterSubject(record: InboundRecord, letter: DeadLetter): { lineId: string; cameraId: string; frameId?: string } {
  let original: Record<string, unknown> = {};
  if (letter.originalValueEncoding === 'utf8') {
    try {
      const parsed: unknown = JSON.parse(letter.originalValue);
      if (typeof parsed === 'object' && parsed !== null) original = parsed as Record<string, unknown>;
    } catch {
      // not JSON: the dead letter's own reason says so; the key may still name the camera
    }
  }
  const id = (value: unknown): string | undefined => (Id.safeParse(value).success ? (value as string) : undefined);
  const fromKey = record.key === undefined ? undefined : parseMessageKey(record.key);
  const lineId = id(fromKey?.lineId) ?? id(original['lineId']) ?? 'unknown';
  const cameraId = id(fromKey?.cameraId) ?? id(original['cameraId']) ?? 'unknown';
  const frameId = id(original['frameId']);
  return frameId === undefined ? { lineId, cameraId } : { lineId, cameraId, frameId };
}

export function decodeRecord(kind: InputKind, record: InboundRecord): Decoded {
  try {
    switch (kind) {
      case 'verdict':
        return { event: { type: 'verdict', verdict: decodeMessage(Verdict, record.value) } };
      case 'frame': {
        const frame = decodeMessage(FrameEvent, record.value);
        return { event: { type: 'frame', lineId: frame.lineId, cameraId: frame.cameraId, frameId: frame.frameId, seq: frame.seq } };
      }
      case 'dead-letter': {
        const letter = decodeMessage(DeadLetter, record.value);
        return { event: { type: 'dead-letter', ...deadLetterSubject(record, letter) } };
      }
      case 'drift':
        return { event: { type: 'drift', drift: decodeMessage(DriftEvent, record.value) } };
      case 'feedback':
        return { event: { type: 'feedback', feedback: decodeMessage(Feedback, record.value) } };
    }
  } catch (err) {
    const error = toLoomwatchError(err);
    return { skipped: `${error.code}: ${error.message}` };
  }
}

/** Event time of a record: the broker timestamp, so a re-read after a restart sees the same times. */
export function recordTime(record: InboundRecord): number {
  return Number(record.timestamp);
}

export function alertMessage(alert: Alert, topic: string, source: string, parentTraceparent?: string): OutboundMessage {
  const headers = cloudEventHeaders(EVENT_TYPES.alert, source, {
    // One CloudEvent per alert message: a re-send of the same revision keeps its id.
    id: `${alert.alertId}.${alert.revision ?? 0}`,
    time: new Date(alert.updatedAt),
    parentTraceparent,
  });
  return {
    topic,
    key: messageKey(alert.lineId, alert.cameraId ?? '*'),
    value: encodeMessage(Alert, alert),
    headers: { ...headers },
  };
}
