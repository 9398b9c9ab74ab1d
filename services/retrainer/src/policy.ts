/**
 * The retrain policy, pure: which fabrics have gathered enough new false alarms since their last
 * request to ask for a refit. A fabric whose last request is still running is left alone.
 */
import { retrainKey, retrainPending, type RetrainRequest } from '@loomwatch/contracts';
import type { FrameLabel } from '@loomwatch/quality';

export interface PolicyOptions {
  /** The deployment's model: only labels of verdicts this model decided count. */
  model: string;
  /** New false alarms on a fabric that ask for a refit. */
  falseAlarms: number;
  now: Date;
  /** Who the requests name as requester. @defaultValue 'retrain-policy' */
  requestedBy?: string;
}

/**
 * One `requested` request per fabric with at least `falseAlarms` frames now labelled false alarm
 * (by the current label of each frame) and reviewed after the fabric's last request was made.
 * Frames without a fabric code never count: a refit is per fabric.
 */
export function policyRequests(labels: Iterable<FrameLabel>, last: ReadonlyMap<string, RetrainRequest>, options: PolicyOptions): RetrainRequest[] {
  const since = new Map<string, { count: number; from: string | undefined }>();
  for (const label of labels) {
    if (label.label !== 'false-alarm' || label.fabricCode === undefined || label.model.name !== options.model) continue;
    const previous = last.get(retrainKey(options.model, label.fabricCode));
    if (previous !== undefined && Date.parse(label.reviewedAt) <= Date.parse(previous.requestedAt)) continue;
    const entry = since.get(label.fabricCode) ?? { count: 0, from: previous?.requestedAt };
    since.set(label.fabricCode, { ...entry, count: entry.count + 1 });
  }
  const requests: RetrainRequest[] = [];
  const now = options.now.toISOString();
  for (const [fabric, { count, from }] of [...since].sort(([a], [b]) => a.localeCompare(b))) {
    const previous = last.get(retrainKey(options.model, fabric));
    if (count < options.falseAlarms || (previous !== undefined && retrainPending(previous))) continue;
    requests.push({
      kind: 'retrain-request',
      id: `${options.model}.${fabric}.${options.now.getTime()}`,
      model: options.model,
      fabric,
      reason: { kind: 'false-alarms', count, ...(from === undefined ? {} : { from }), to: now },
      requestedAt: now,
      requestedBy: options.requestedBy ?? 'retrain-policy',
      status: { step: 'requested' },
      updatedAt: now,
    });
  }
  return requests;
}
