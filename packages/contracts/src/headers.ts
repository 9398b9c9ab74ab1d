import { randomBytes, randomUUID } from 'node:crypto';

/**
 * CloudEvents Kafka binary-mode headers plus W3C trace context. Every message carries them;
 * the payload itself is the JSON value.
 */
export interface CloudEventHeaders {
  ce_id: string;
  ce_type: string;
  ce_source: string;
  ce_specversion: '1.0';
  ce_time: string;
  'content-type': 'application/json';
  traceparent: string;
}

export const EVENT_TYPES = {
  frame: 'io.loomwatch.frame.v1',
  verdict: 'io.loomwatch.verdict.v1',
  deadLetter: 'io.loomwatch.deadletter.v1',
  alert: 'io.loomwatch.alert.v1',
  deployment: 'io.loomwatch.deployment.v1',
  replayPlan: 'io.loomwatch.replayplan.v1',
  webhookDeadLetter: 'io.loomwatch.webhookdeadletter.v1',
  drift: 'io.loomwatch.drift.v1',
  feedback: 'io.loomwatch.feedback.v1',
} as const;

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A fresh W3C traceparent, or a child span of `parent` (same trace id, new span id). */
export function traceparent(parent?: string): string {
  const match = parent === undefined ? null : TRACEPARENT.exec(parent);
  const traceId = match?.[1] ?? randomBytes(16).toString('hex');
  const flags = match?.[3] ?? '01';
  return `00-${traceId}-${randomBytes(8).toString('hex')}-${flags}`;
}

export function traceIdOf(header: string | undefined): string | undefined {
  return header === undefined ? undefined : TRACEPARENT.exec(header)?.[1];
}

export function cloudEventHeaders(
  type: string,
  source: string,
  options: { id?: string; time?: Date; parentTraceparent?: string | undefined } = {},
): CloudEventHeaders {
  return {
    ce_id: options.id ?? randomUUID(),
    ce_type: type,
    ce_source: source,
    ce_specversion: '1.0',
    ce_time: (options.time ?? new Date()).toISOString(),
    'content-type': 'application/json',
    traceparent: traceparent(options.parentTraceparent),
  };
}
