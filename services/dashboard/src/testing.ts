/** Schema-valid messages for the dashboard's tests, as the workers, alerting and the drift monitor publish them. */
import type { Alert, DeadLetter, Deployment, DriftCheck, DriftEvent, FrameEvent, ReplayCheck, RetrainRequest, RetrainStatus, Verdict } from '@loomwatch/contracts';

/** Where a defect fixture's one region is, on a 4096 × 256 AITEX frame. */
export const DEFECT_REGION = { x: 1800, y: 70, width: 240, height: 110, area: 21_000, maxScore: 0.93, meanScore: 0.71 };

export interface VerdictOptions {
  line?: string;
  camera?: string;
  defect?: boolean;
  /** Capture time. @defaultValue now */
  at?: Date;
  /** @defaultValue 'loomwatch-results' */
  bucket?: string;
  modelVersion?: string;
  /**
   * Whose threshold judged the frame and at which rate. @defaultValue fabric 05's threshold 0.5 at
   * 5 % false alarms; `fabric: null`: the pooled threshold (the frame's fabric `frameFabric`, if given)
   */
  calibration?: { fabric: string | null; frameFabric?: string; threshold?: number; falseAlarmRate?: number };
}

/** The verdict of frame `seq` of a camera, with its anomaly map and overlay keys as the worker names them. */
export function verdictFixture(seq: number, options: VerdictOptions = {}): Verdict {
  const lineId = options.line ?? 'line-1';
  const cameraId = options.camera ?? 'cam-1';
  const defect = options.defect ?? false;
  const frameId = `${lineId}.${cameraId}.${seq}`;
  const at = options.at ?? new Date();
  const version = options.modelVersion ?? '1.0.0';
  const bucket = options.bucket ?? 'loomwatch-results';
  const base = `draem-aitex/${version}/${lineId}/${cameraId}/${frameId}`;
  const score = defect ? 0.62 + (seq % 5) * 0.05 : 0.05 + (seq % 7) * 0.03;
  const calibration = options.calibration ?? { fabric: '05', falseAlarmRate: 0.05 };
  const frameFabric = calibration.fabric ?? calibration.frameFabric;
  return {
    frameId,
    lineId,
    cameraId,
    seq,
    capturedAt: at.toISOString(),
    decidedAt: new Date(at.getTime() + 850).toISOString(),
    verdict: defect ? 'defect' : 'ok',
    score,
    normalizedScore: score,
    threshold: calibration.threshold ?? 0.5,
    ...(frameFabric === undefined ? {} : { fabricCode: frameFabric }),
    ...(calibration.fabric === null ? {} : { calibratedFabric: calibration.fabric }),
    ...(calibration.falseAlarmRate === undefined ? {} : { falseAlarmRate: calibration.falseAlarmRate }),
    regions: defect ? [DEFECT_REGION] : [],
    model: { name: 'draem-aitex', version, sha256: 'ab'.repeat(32) },
    anomalyMap: { bucket, key: `maps/${base}.png` },
    overlay: { bucket, key: `overlays/${base}.jpg` },
    inputStats: { mean: 0.45, std: 0.12, min: 0, max: 1, histogram: [0.25, 0.25, 0.25, 0.25] },
    timings: { fetch: 4.2, decode: 6.1, infer: 512.4, post: 12.3, store: 8.8 },
    workerId: 'worker-1',
  };
}

/** The frame event a verdict decided, its image in `bucket` under the gateway's key. */
export function frameFixture(verdict: Verdict, bucket = 'loomwatch-frames', bytes = 1000): FrameEvent {
  return {
    frameId: verdict.frameId,
    lineId: verdict.lineId,
    cameraId: verdict.cameraId,
    seq: verdict.seq,
    capturedAt: verdict.capturedAt,
    image: { bucket, key: `frames/${verdict.lineId}/${verdict.cameraId}/${verdict.frameId}.png`, width: 4096, height: 256, encoding: 'png', bytes, sha256: 'cd'.repeat(32) },
    product: { fabricCode: '05' },
  };
}

export interface AlertOptions {
  line?: string;
  camera?: string;
  revision?: number;
  resolved?: boolean;
  severity?: Alert['severity'];
  stopLine?: boolean;
  at?: Date;
}

export function alertFixture(alertId: string, options: AlertOptions = {}): Alert {
  const at = (options.at ?? new Date()).toISOString();
  const lineId = options.line ?? 'line-1';
  return {
    alertId,
    dedupKey: `burst:${lineId}:${options.camera ?? '*'}`,
    rule: 'burst',
    status: options.resolved === true ? 'resolved' : 'open',
    severity: options.severity ?? 'critical',
    lineId,
    ...(options.camera === undefined ? {} : { cameraId: options.camera }),
    message: options.resolved === true ? 'no defect in the last 10 frames' : '3 defects in the last 5 frames',
    openedAt: at,
    updatedAt: at,
    ...(options.resolved === true ? { resolvedAt: at } : {}),
    frameIds: [],
    anomalyMaps: [],
    kind: 'burst',
    revision: options.revision ?? 0,
    ...(options.stopLine === undefined ? {} : { stopLine: options.stopLine }),
    observation: { value: 3, threshold: 3, frames: 5 },
  };
}

export function deadLetterFixture(code: DeadLetter['reason']['code'], offset: number, at = new Date()): DeadLetter {
  return {
    originalValue: '{"frameId":"x"}',
    originalValueEncoding: 'utf8',
    originalHeaders: {},
    originalTopic: 'frames.v1',
    originalPartition: 0,
    originalOffset: String(offset),
    reason: { code, message: `the frame failed: ${code}` },
    attempts: 1,
    workerId: 'worker-1',
    failedAt: at.toISOString(),
  };
}

export function deploymentFixture(revision: number, overrides: Partial<Deployment> = {}): Deployment {
  return {
    kind: 'deployment',
    model: 'draem-aitex',
    revision,
    production: '1.0.0',
    fabrics: {},
    updatedAt: new Date().toISOString(),
    ...overrides,
  };
}

export function driftFixture(tripped: readonly DriftCheck[], options: { line?: string; camera?: string; fabric?: string; at?: Date } = {}): DriftEvent {
  const lineId = options.line ?? 'line-1';
  const cameraId = options.camera ?? 'cam-1';
  const at = options.at ?? new Date();
  const checks: DriftCheck[] = ['input-psi', 'input-ks', 'input-contrast', 'score-psi'];
  return {
    lineId,
    cameraId,
    ...(options.fabric === undefined ? {} : { fabricCode: options.fabric }),
    status: tripped.length > 0 ? 'drifting' : 'ok',
    tripped: [...tripped],
    measures: checks.map((check) => ({ check, value: tripped.includes(check) ? 0.41 : 0.02, threshold: 0.2, tripped: tripped.includes(check), frames: 64 })),
    window: { frames: 64, firstFrameId: `${lineId}.${cameraId}.1`, lastFrameId: `${lineId}.${cameraId}.64`, from: new Date(at.getTime() - 60_000).toISOString(), to: at.toISOString() },
    reference: { model: 'draem-aitex', version: '1.0.0', split: 'aitex-train', scope: options.fabric === undefined ? 'pooled' : 'fabric' },
    evaluatedAt: at.toISOString(),
    monitorId: 'drift-1',
  };
}

/** A replay's check as the retrainer records it: 40 reviewed normals (12 → 3 flagged), 8 reviewed defects (7 → 7 caught). */
export function replayCheckFixture(bucket = 'loomwatch-datasets', requestId = 'draem-aitex.05.1'): ReplayCheck {
  return {
    replayTopic: 'verdicts.replay.draem-aitex.1.3.0',
    report: { bucket, key: `retrain/${requestId}/report/index.html` },
    frames: 48,
    normals: { reviewed: 40, parentFlagged: 12, candidateFlagged: 3 },
    defects: { reviewed: 8, parentFlagged: 7, candidateFlagged: 7 },
  };
}

/**
 * The status of a request of draem-aitex at `step`, its candidate 1.3.0 from snapshot `snap-1`, in
 * shadow from revision 3 (`replayed`: with `replayCheckFixture`; `promoted`: to canary by Erin).
 */
export function retrainStatusFixture(step: RetrainStatus['step'], check: ReplayCheck = replayCheckFixture()): RetrainStatus {
  const made = { snapshot: 'snap-1', version: '1.3.0' };
  switch (step) {
    case 'requested':
      return { step };
    case 'snapshot':
      return { step, snapshot: made.snapshot };
    case 'refit':
    case 'candidate':
      return { step, ...made };
    case 'refused':
      return { step, ...made, reasons: ['validation image AUROC 0.81 < parent 0.86'] };
    case 'failed':
      return { step, code: 'REFIT_FAILED', message: 'the refit exited 2: out of memory' };
    case 'shadow':
      return { step, ...made, revision: 3 };
    case 'replayed':
      return { step, ...made, revision: 3, check, reasons: ['no guard configured: an engineer promotes'] };
    case 'promoted':
      return { step, ...made, revision: 4, check, stage: 'canary', by: 'Erin Engineer' };
  }
}

/** A retrain request of draem-aitex on fabric `fabric` (05; null: every fabric), 12 false alarms reviewed, at `status`. */
export function retrainFixture(status: RetrainStatus, options: { id?: string; fabric?: string | null; model?: string; at?: Date } = {}): RetrainRequest {
  const at = options.at ?? new Date('2026-12-07T10:00:00Z');
  const fabric = options.fabric === undefined ? '05' : options.fabric;
  return {
    kind: 'retrain-request',
    id: options.id ?? `draem-aitex.${fabric ?? 'all'}.${at.getTime()}`,
    model: options.model ?? 'draem-aitex',
    ...(fabric === null ? {} : { fabric }),
    reason: { kind: 'false-alarms', count: 12, to: at.toISOString() },
    requestedAt: at.toISOString(),
    requestedBy: 'retrain-policy',
    status,
    updatedAt: new Date(at.getTime() + 60_000).toISOString(),
  };
}
