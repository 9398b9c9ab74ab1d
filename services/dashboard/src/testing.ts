/** Schema-valid messages for the dashboard's tests, as the workers, alerting and the drift monitor publish them. */
import type { Alert, DeadLetter, Deployment, DriftCheck, DriftEvent, FrameEvent, Verdict } from '@loomwatch/contracts';

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
