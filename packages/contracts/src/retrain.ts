/**
 * A request to refit a model from the operators' reviews, and where its run stands. Published on
 * `control.v1` under `retrain:<model>:<fabric|all>` (compacted: the latest request of a model and
 * fabric is the one in force); the retrainer advances its `status` one step at a time, so a
 * restarted runner continues from the step it reached instead of redoing it.
 */
import { z } from 'zod';
import { ModelVersion } from './control.js';
import { Id, Timestamp } from './primitives.js';

/** The CloudEvents type of a retrain request on control.v1. */
export const RETRAIN_REQUEST_EVENT_TYPE = 'io.loomwatch.retrainrequest.v1';

/** A fabric code as `FrameEvent.product.fabricCode` carries it. */
const FabricCode = z.string().min(1).max(32).regex(/^[A-Za-z0-9._-]+$/, 'a fabric code (letters, digits, ".", "_" or "-")');

/** Why a refit was asked for. */
export const RetrainReason = z.discriminatedUnion('kind', [
  /** The policy: `count` new false alarms on the fabric reviewed between `from` and `to`. */
  z.strictObject({ kind: z.literal('false-alarms'), count: z.int().positive(), from: Timestamp.optional(), to: Timestamp }),
  /** A drift alert open on the fabric. */
  z.strictObject({ kind: z.literal('drift'), alertId: z.string().min(1).max(200) }),
  /** A person (an engineer) asked for it. */
  z.strictObject({ kind: z.literal('manual') }),
]);
export type RetrainReason = z.infer<typeof RetrainReason>;

/** Reviewed frames of one kind, and how many of them each version flagged. */
const ReviewedCount = z.strictObject({
  reviewed: z.int().nonnegative(),
  /** Flagged by the verdicts the reviews answered (the versions in force then). */
  parentFlagged: z.int().nonnegative(),
  /** Flagged by the candidate in the replay. */
  candidateFlagged: z.int().nonnegative(),
});

/**
 * The candidate's replay over the reviewed frames: where its verdicts and report are, and what it
 * says on the frames people labelled — normals (`false-alarm`, `ok-confirmed`) it still flags and
 * defects (`defect-confirmed`, `missed-defect`) it catches.
 */
export const ReplayCheck = z.strictObject({
  /** The replay's verdict topic (`verdicts.replay.<name>.<version>`). */
  replayTopic: z.string().min(1).max(249),
  /** The HTML report (`replay report --format html`), readable through the dashboard's object proxy. */
  report: z.strictObject({ bucket: z.string().min(3).max(63), key: z.string().min(1).max(1024) }),
  /** Reviewed frames the replay decided. */
  frames: z.int().nonnegative(),
  normals: ReviewedCount,
  defects: ReviewedCount,
});
export type ReplayCheck = z.infer<typeof ReplayCheck>;

/**
 * Where the run stands. Each step keeps what the earlier ones found (the snapshot id, the candidate
 * version), so the record alone says how to continue. `refused` (the refit's gate said no) and
 * `failed` end a run; `replayed` waits for an engineer (or ends it when no guard promotes);
 * `promoted` records who put the candidate into canary or production.
 */
export const RetrainStatus = z.discriminatedUnion('step', [
  z.strictObject({ step: z.literal('requested') }),
  /** The reviews are frozen in the data set snapshot `snapshot`. */
  z.strictObject({ step: z.literal('snapshot'), snapshot: Id }),
  /** The refit of the snapshot into `version` has started. */
  z.strictObject({ step: z.literal('refit'), snapshot: Id, version: ModelVersion }),
  /** The refit passed its gate: `version` is in the registry. */
  z.strictObject({ step: z.literal('candidate'), snapshot: Id, version: ModelVersion }),
  /** The refit's gate refused the version; `reasons` as the refit gave them. */
  z.strictObject({ step: z.literal('refused'), snapshot: Id, version: ModelVersion, reasons: z.array(z.string().max(2000)).max(32) }),
  /** The run could not go on: a stable error code and what to do. */
  z.strictObject({ step: z.literal('failed'), code: z.string().min(1).max(64), message: z.string().max(4000) }),
  /** The candidate decides a sample of live frames in shadow from deployment revision `revision`. */
  z.strictObject({ step: z.literal('shadow'), snapshot: Id, version: ModelVersion, revision: z.int().positive() }),
  /**
   * The candidate decided the reviewed frames again (a replay) and the report compares it with the
   * verdicts they had; `reasons` says why it is not promoted automatically (no guard configured, or
   * the guard's findings). An engineer promotes it from here.
   */
  z.strictObject({ step: z.literal('replayed'), snapshot: Id, version: ModelVersion, revision: z.int().positive(), check: ReplayCheck, reasons: z.array(z.string().max(2000)).max(32) }),
  /** `version` decides `stage` from deployment revision `revision`; `by` is the guard (`retrain-guard`) or the engineer. */
  z.strictObject({
    step: z.literal('promoted'),
    snapshot: Id,
    version: ModelVersion,
    revision: z.int().positive(),
    check: ReplayCheck.optional(),
    stage: z.enum(['canary', 'production']),
    by: z.string().min(1).max(200),
  }),
]);
export type RetrainStatus = z.infer<typeof RetrainStatus>;
export type RetrainStep = RetrainStatus['step'];

/** Steps after which nothing more happens to a request. */
export const RETRAIN_FINAL_STEPS: readonly RetrainStep[] = ['refused', 'failed', 'replayed', 'promoted'];

export const RetrainRequest = z.strictObject({
  kind: z.literal('retrain-request'),
  /** Names this request (a newer request of the same model and fabric replaces it). */
  id: Id,
  /** The deployment (control.v1 `deployment:<model>`) whose shadow the candidate becomes. */
  model: Id,
  /** The fabric whose reviews asked for it; absent: every fabric's. */
  fabric: FabricCode.optional(),
  reason: RetrainReason,
  requestedAt: Timestamp,
  /** The person (`sub` or name) or service (`retrain-policy`) that asked. */
  requestedBy: z.string().min(1).max(200),
  status: RetrainStatus,
  updatedAt: Timestamp,
});
export type RetrainRequest = z.infer<typeof RetrainRequest>;

/** The control.v1 key of a model's (and fabric's) retrain request. */
export function retrainKey(model: string, fabric: string | undefined): string {
  return `retrain:${model}:${fabric ?? 'all'}`;
}

/** Whether a control.v1 key holds a retrain request. */
export function isRetrainKey(key: string | undefined): boolean {
  return key?.startsWith('retrain:') === true;
}

/** Whether the runner still has work on the request. */
export function retrainPending(request: Pick<RetrainRequest, 'status'>): boolean {
  return !RETRAIN_FINAL_STEPS.includes(request.status.step);
}

/**
 * A person's request for a refit of `model` on `fabric`'s reviews (absent: every fabric's), as
 * `loomwatch retrain request` and the dashboard make it; not yet parsed (the caller says what was wrong).
 */
export function manualRetrainRequest(model: string, fabric: string | undefined, requestedBy: string, now: Date): RetrainRequest {
  const at = now.toISOString();
  return {
    kind: 'retrain-request',
    id: `${model}.${fabric ?? 'all'}.${now.getTime()}`,
    model,
    ...(fabric === undefined ? {} : { fabric }),
    reason: { kind: 'manual' },
    requestedAt: at,
    requestedBy,
    status: { step: 'requested' },
    updatedAt: at,
  };
}
