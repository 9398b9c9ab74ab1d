import type { DriftCheck, DriftEvent, Verdict } from '@loomwatch/contracts';

interface VerdictOptions {
  line?: string;
  camera?: string;
  /** Score and normalised score. @defaultValue 0.7 for a defect, 0.1 otherwise */
  score?: number;
  /** Area of the one region of a defect. @defaultValue 100 */
  area?: number;
  /** @defaultValue '2026-11-23T08:00:00.000Z' */
  at?: string;
}

/** A valid verdict for frame `seq` of a camera, as the inference worker would publish it. */
export function craftVerdict(seq: number, defect: boolean, options: VerdictOptions = {}): Verdict {
  const lineId = options.line ?? 'line-1';
  const cameraId = options.camera ?? 'cam-1';
  const frameId = `${lineId}.${cameraId}.${seq}`;
  const at = options.at ?? '2026-11-23T08:00:00.000Z';
  const score = options.score ?? (defect ? 0.7 : 0.1);
  return {
    frameId,
    lineId,
    cameraId,
    seq,
    capturedAt: at,
    decidedAt: at,
    verdict: defect ? 'defect' : 'ok',
    score,
    normalizedScore: score,
    threshold: 0.5,
    regions: defect ? [{ x: 0, y: 0, width: 10, height: 10, area: options.area ?? 100, maxScore: 0.9, meanScore: 0.7 }] : [],
    model: { name: 'draem', version: '1.0.0', sha256: 'a'.repeat(64) },
    anomalyMap: { bucket: 'loomwatch-results', key: `maps/draem/1.0.0/${lineId}/${cameraId}/${frameId}.png` },
    overlay: { bucket: 'loomwatch-results', key: `overlays/draem/1.0.0/${lineId}/${cameraId}/${frameId}.jpg` },
    inputStats: { mean: 0.5, std: 0.1, min: 0, max: 1, histogram: [1] },
    timings: {},
    workerId: 'w1',
  };
}

/** A drift monitor's judgement of a camera's window, as drift.v1 carries it: drifting when `tripped` names checks. */
export function craftDriftEvent(tripped: readonly DriftCheck[], options: { line?: string; camera?: string; fabric?: string; lastSeq?: number } = {}): DriftEvent {
  const lineId = options.line ?? 'line-1';
  const cameraId = options.camera ?? 'cam-1';
  const checks: DriftCheck[] = ['input-psi', 'input-ks', 'input-contrast'];
  return {
    lineId,
    cameraId,
    ...(options.fabric === undefined ? {} : { fabricCode: options.fabric }),
    status: tripped.length > 0 ? 'drifting' : 'ok',
    tripped: [...tripped],
    measures: checks.map((check) => ({ check, value: tripped.includes(check) ? 0.5 : 0.01, threshold: 0.1, tripped: tripped.includes(check), frames: 16 })),
    window: { frames: 16, firstFrameId: `${lineId}.${cameraId}.1`, lastFrameId: `${lineId}.${cameraId}.${options.lastSeq ?? 16}`, from: '2026-11-23T08:00:00.000Z', to: '2026-11-23T08:00:16.000Z' },
    reference: { model: 'draem', version: '1.0.0', split: 'aitex-split-v1', scope: options.fabric === undefined ? 'pooled' : 'fabric' },
    evaluatedAt: '2026-11-23T08:00:17.000Z',
    monitorId: 'drift-1',
  };
}
