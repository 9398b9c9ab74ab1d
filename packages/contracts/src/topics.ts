/** Kafka topic names. A breaking change to a message means a new `v2` topic run side by side. */
export const TOPICS = {
  frames: 'frames.v1',
  verdicts: 'verdicts.v1',
  deadLetters: 'frames.dlq.v1',
  alerts: 'alerts.v1',
  /** Shadow versions' verdicts: same schema as verdicts.v1, never read by alerting. */
  shadowVerdicts: 'verdicts.shadow.v1',
  /** The control plane: model deployments and replay plans (compacted, one partition). */
  control: 'control.v1',
  /** Webhook messages whose endpoint's last try failed. */
  webhookDeadLetters: 'alerts.webhooks.dlq.v1',
  /** Drift judgements: windows of live frames against the model card's reference profile. */
  drift: 'drift.v1',
} as const;

/** Every message on every topic is keyed `lineId:cameraId`, so a camera's frames stay in order. */
export function messageKey(lineId: string, cameraId: string): string {
  return `${lineId}:${cameraId}`;
}

export function parseMessageKey(key: string): { lineId: string; cameraId: string } | undefined {
  const at = key.indexOf(':');
  if (at <= 0 || at === key.length - 1) return undefined;
  return { lineId: key.slice(0, at), cameraId: key.slice(at + 1) };
}
