/**
 * The drift policy, pure: a refit for every fabric a drift alert is open about. An alert on
 * `alerts.v1` names a camera (or a line), not a fabric; the drift monitor's latest judgements on
 * `drift.v1` of that camera name the fabrics that are drifting against the model's reference. A
 * fabric whose last request is still running is left alone, and an alert asks once.
 */
import { retrainKey, retrainPending, type Alert, type DriftEvent, type RetrainRequest } from '@loomwatch/contracts';

export interface DriftPolicyOptions {
  /** The deployment to refit: only drift against this model's reference counts. */
  model: string;
  now: Date;
  /** Who the requests name as requester. @defaultValue 'retrain-policy' */
  requestedBy?: string;
}

/** The key a consumer keeps the latest drift judgement under: line, camera and fabric. */
export function driftEventKey(event: Pick<DriftEvent, 'lineId' | 'cameraId' | 'fabricCode'>): string {
  return `${event.lineId}:${event.cameraId}:${event.fabricCode ?? ''}`;
}

/** Whether a newer message about an alert replaces the one kept (the highest revision wins). */
export function supersedes(next: Alert, kept: Alert | undefined): boolean {
  return kept === undefined || (next.revision ?? 0) >= (kept.revision ?? 0);
}

/**
 * One `requested` request (reason `drift`, the alert's id) per fabric that an open drift alert's
 * camera — every camera of the line, for a line-wide alert — is drifting on by its latest
 * judgement against `model`'s reference; none for a fabric whose last request is running, or
 * was made after every such alert opened (a refit answers an alert once, whatever its outcome).
 * Judgements without a fabric code never count: a refit is per fabric.
 */
export function driftRequests(alerts: Iterable<Alert>, latest: Iterable<DriftEvent>, last: ReadonlyMap<string, RetrainRequest>, options: DriftPolicyOptions): RetrainRequest[] {
  const judgements = [...latest];
  // Fabric → the open drift alerts about it, oldest first.
  const byFabric = new Map<string, Alert[]>();
  const open = [...alerts].filter((alert) => alert.status === 'open' && alert.kind === 'drift').sort((a, b) => a.openedAt.localeCompare(b.openedAt) || a.alertId.localeCompare(b.alertId));
  for (const alert of open) {
    const fabrics = new Set<string>();
    for (const event of judgements) {
      if (event.status !== 'drifting' || event.fabricCode === undefined || event.reference.model !== options.model) continue;
      if (event.lineId !== alert.lineId || (alert.cameraId !== undefined && event.cameraId !== alert.cameraId)) continue;
      fabrics.add(event.fabricCode);
    }
    for (const fabric of fabrics) byFabric.set(fabric, [...(byFabric.get(fabric) ?? []), alert]);
  }
  const now = options.now.toISOString();
  const requests: RetrainRequest[] = [];
  for (const [fabric, fabricAlerts] of [...byFabric].sort(([a], [b]) => a.localeCompare(b))) {
    const previous = last.get(retrainKey(options.model, fabric));
    if (previous !== undefined && retrainPending(previous)) continue;
    // An alert the fabric's last request already answered (opened before it was made) asks no more.
    const alert = fabricAlerts.find((candidate) => previous === undefined || Date.parse(candidate.openedAt) > Date.parse(previous.requestedAt));
    if (alert === undefined) continue;
    const alertId = alert.alertId;
    requests.push({
      kind: 'retrain-request',
      id: `${options.model}.${fabric}.${options.now.getTime()}`,
      model: options.model,
      fabric,
      reason: { kind: 'drift', alertId },
      requestedAt: now,
      requestedBy: options.requestedBy ?? 'retrain-policy',
      status: { step: 'requested' },
      updatedAt: now,
    });
  }
  return requests;
}
