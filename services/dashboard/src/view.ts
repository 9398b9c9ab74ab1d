/**
 * The dashboard's view of the lines: a bounded summary of what the topics said, kept by the server
 * and, from the snapshot and the deltas it streams, by every open page. Pure: the same reducer runs
 * in Node and in the browser (so this module imports types only).
 *
 * Glossary: camera key — `lineId:cameraId`, the topics' message key · recent — a camera's last
 * verdicts, oldest first, for the sparkline · open alert — an alert episode whose highest revision
 * says `open` · drift key — `lineId:cameraId:fabricCode` (`-` for frames without a fabric) ·
 * calibration — whose threshold judged a verdict (its fabric's, or the model's pooled one) and the
 * false-alarm rate it was taken at · retrain key — `retrain:<model>:<fabric|all>`, the control
 * topic's key of a model's (and fabric's) retrain request.
 */
import type { Alert, DeadLetter, Deployment, DriftEvent, RetrainRequest, Verdict } from '@loomwatch/contracts';

/** A verdict as the view keeps it: without the input histogram, which the page never shows. */
export type VerdictView = Omit<Verdict, 'inputStats'>;

/** What the sparkline needs of an older verdict: the snapshot stays small with many cameras. */
export type VerdictPoint = Pick<Verdict, 'frameId' | 'seq' | 'capturedAt' | 'decidedAt' | 'verdict' | 'score' | 'normalizedScore' | 'threshold'>;

export interface CameraView {
  lineId: string;
  cameraId: string;
  /** The camera's latest verdict (by capture time, then sequence), whole. */
  latest: VerdictView;
  /** Its last verdicts, oldest first, at most `verdictsPerCamera`, as points. */
  recent: VerdictPoint[];
}

/** What is kept of the dead letters with one reason code. */
export interface DeadLetterTally {
  code: DeadLetter['reason']['code'];
  count: number;
  lastFailedAt: string;
  lastMessage: string;
  /** `topic/partition@offset` of the last one, to find it on the dead-letter topic. */
  lastOrigin: string;
}

export interface PartitionLag {
  partition: number;
  /** Undefined: the group has committed nothing on this partition. */
  committed?: number;
  high: number;
  lag: number;
}

/** Consumer lag of the workers' group: committed offsets against the high watermarks. */
export interface LagView {
  groupId: string;
  topic: string;
  measuredAt: string;
  total: number;
  partitions: PartitionLag[];
  /** Set when the last measurement failed: what to do, with the error code. */
  error?: { code: string; message: string };
}

export interface ViewState {
  /** By camera key. */
  cameras: Record<string, CameraView>;
  /** By alertId, the highest revision of each episode: every open one, and the last resolved ones. */
  alerts: Record<string, Alert>;
  /** By reason code. */
  deadLetters: Record<string, DeadLetterTally>;
  /** By model name, the highest revision. */
  deployments: Record<string, Deployment>;
  /** By drift key, the latest evaluated window. */
  drift: Record<string, DriftEvent>;
  /** By retrain key, the latest record of the request in force (a newer request of the key replaces it). */
  retrains: Record<string, RetrainRequest>;
  lag?: LagView;
}

/** One change to the view, as the server streams it. */
export type ViewEvent =
  | { type: 'verdict'; verdict: VerdictView }
  | { type: 'alert'; alert: Alert }
  | { type: 'dead-letter'; code: DeadLetterTally['code']; message: string; failedAt: string; origin: string }
  | { type: 'deployment'; deployment: Deployment }
  | { type: 'drift'; drift: DriftEvent }
  | { type: 'retrain'; key: string; request: RetrainRequest }
  | { type: 'lag'; lag: LagView };

export interface ViewLimits {
  /** Verdicts kept per camera (the sparkline's length). @defaultValue 60 */
  verdictsPerCamera: number;
  /** Cameras kept; past this the one heard from least recently is dropped. @defaultValue 256 */
  cameras: number;
  /** Resolved alerts kept beside the open ones; the oldest resolution goes first. @defaultValue 20 */
  resolvedAlerts: number;
  /** Drift keys kept; the oldest evaluation goes first. @defaultValue 1024 */
  driftEntries: number;
}

export const DEFAULT_LIMITS: ViewLimits = { verdictsPerCamera: 60, cameras: 256, resolvedAlerts: 20, driftEntries: 1024 };

export function emptyView(): ViewState {
  return { cameras: {}, alerts: {}, deadLetters: {}, deployments: {}, drift: {}, retrains: {} };
}

export function cameraKey(lineId: string, cameraId: string): string {
  return `${lineId}:${cameraId}`;
}

export function driftKey(event: Pick<DriftEvent, 'lineId' | 'cameraId' | 'fabricCode'>): string {
  return `${event.lineId}:${event.cameraId}:${event.fabricCode ?? '-'}`;
}

/** The view's form of a verdict. */
export function verdictView(verdict: Verdict | VerdictView): VerdictView {
  const { inputStats: _dropped, ...kept } = verdict as Verdict;
  return kept;
}

export function verdictPoint(verdict: VerdictPoint): VerdictPoint {
  const { frameId, seq, capturedAt, decidedAt, verdict: kind, score, normalizedScore, threshold } = verdict;
  return { frameId, seq, capturedAt, decidedAt, verdict: kind, score, normalizedScore, threshold };
}

/** Capture order within a camera: capture time, then sequence number. */
function compareVerdicts(a: VerdictPoint, b: VerdictPoint): number {
  return Date.parse(a.capturedAt) - Date.parse(b.capturedAt) || a.seq - b.seq;
}

/** The camera's latest verdict. */
export function latestVerdict(camera: CameraView): VerdictView {
  return camera.latest;
}

/** Defects among the camera's recent verdicts, as a fraction (0 when it has none). */
export function defectRate(camera: CameraView): number {
  if (camera.recent.length === 0) return 0;
  return camera.recent.filter((v) => v.verdict === 'defect').length / camera.recent.length;
}

/** Alert revisions compare by revision (an older producer may omit it: then by update time). */
function newerAlert(candidate: Alert, current: Alert | undefined): boolean {
  if (current === undefined) return true;
  const byRevision = (candidate.revision ?? -1) - (current.revision ?? -1);
  if (byRevision !== 0) return byRevision > 0;
  return Date.parse(candidate.updatedAt) > Date.parse(current.updatedAt);
}

/**
 * Whether a retrain record replaces the one the view holds under its key: the topic's order decides
 * (a new request of the key replaces the old one), except that a record of the same request older
 * than the one held (read again at a reconnect) or the same step at the same time (a repeat) changes
 * nothing.
 */
function newerRetrain(candidate: RetrainRequest, current: RetrainRequest | undefined): boolean {
  if (current === undefined || current.id !== candidate.id) return true;
  const byTime = Date.parse(candidate.updatedAt) - Date.parse(current.updatedAt);
  return byTime > 0 || (byTime === 0 && candidate.status.step !== current.status.step);
}

/** Deletes the entries past `max`, the ones with the smallest `age` first. */
function trim<T>(record: Record<string, T>, max: number, age: (value: T) => number, eligible: (value: T) => boolean = () => true): Record<string, T> {
  const candidates = Object.entries(record).filter(([, value]) => eligible(value));
  const excess = candidates.length - max;
  if (excess <= 0) return record;
  const drop = new Set(
    candidates
      .sort(([, a], [, b]) => age(a) - age(b))
      .slice(0, excess)
      .map(([key]) => key),
  );
  return Object.fromEntries(Object.entries(record).filter(([key]) => !drop.has(key)));
}

function applyVerdict(state: ViewState, verdict: VerdictView, limits: ViewLimits): ViewState {
  const key = cameraKey(verdict.lineId, verdict.cameraId);
  const camera = state.cameras[key];
  let next: CameraView;
  if (camera === undefined) {
    next = { lineId: verdict.lineId, cameraId: verdict.cameraId, latest: verdict, recent: [verdictPoint(verdict)] };
  } else {
    // Exactly once per frame on the topic, but the start-up read and the follower may both see one.
    if (camera.latest.frameId === verdict.frameId || camera.recent.some((v) => v.frameId === verdict.frameId)) return state;
    const oldest = camera.recent[0];
    if (camera.recent.length >= limits.verdictsPerCamera && oldest !== undefined && compareVerdicts(verdict, oldest) < 0) return state;
    const recent = [...camera.recent, verdictPoint(verdict)].sort(compareVerdicts).slice(-limits.verdictsPerCamera);
    next = { ...camera, latest: compareVerdicts(verdict, camera.latest) > 0 ? verdict : camera.latest, recent };
  }
  const cameras = trim({ ...state.cameras, [key]: next }, limits.cameras, (c) => Date.parse(c.latest.decidedAt) || 0);
  return { ...state, cameras };
}

function applyAlert(state: ViewState, alert: Alert, limits: ViewLimits): ViewState {
  if (!newerAlert(alert, state.alerts[alert.alertId])) return state;
  const alerts = trim(
    { ...state.alerts, [alert.alertId]: alert },
    limits.resolvedAlerts,
    (a) => Date.parse(a.resolvedAt ?? a.updatedAt),
    (a) => a.status === 'resolved',
  );
  return { ...state, alerts };
}

/** The new view after one event; the state passed in is not changed. */
export function applyEvent(state: ViewState, event: ViewEvent, limits: ViewLimits = DEFAULT_LIMITS): ViewState {
  switch (event.type) {
    case 'verdict':
      return applyVerdict(state, event.verdict, limits);
    case 'alert':
      return applyAlert(state, event.alert, limits);
    case 'dead-letter': {
      const current = state.deadLetters[event.code];
      const later = current === undefined || Date.parse(event.failedAt) >= Date.parse(current.lastFailedAt);
      const tally: DeadLetterTally = {
        code: event.code,
        count: (current?.count ?? 0) + 1,
        lastFailedAt: later ? event.failedAt : (current?.lastFailedAt ?? event.failedAt),
        lastMessage: later ? event.message : (current?.lastMessage ?? event.message),
        lastOrigin: later ? event.origin : (current?.lastOrigin ?? event.origin),
      };
      return { ...state, deadLetters: { ...state.deadLetters, [event.code]: tally } };
    }
    case 'deployment': {
      const current = state.deployments[event.deployment.model];
      if (current !== undefined && current.revision >= event.deployment.revision) return state;
      return { ...state, deployments: { ...state.deployments, [event.deployment.model]: event.deployment } };
    }
    case 'drift': {
      const key = driftKey(event.drift);
      const current = state.drift[key];
      if (current !== undefined && Date.parse(current.evaluatedAt) > Date.parse(event.drift.evaluatedAt)) return state;
      const drift = trim({ ...state.drift, [key]: event.drift }, limits.driftEntries, (d) => Date.parse(d.evaluatedAt));
      return { ...state, drift };
    }
    case 'retrain': {
      if (!newerRetrain(event.request, state.retrains[event.key])) return state;
      return { ...state, retrains: { ...state.retrains, [event.key]: event.request } };
    }
    case 'lag':
      return { ...state, lag: event.lag };
  }
}

/** The alerts still open, the most severe and then the most recent first. */
export function openAlerts(state: ViewState): Alert[] {
  const rank = { critical: 0, warning: 1, info: 2 } as const;
  return Object.values(state.alerts)
    .filter((a) => a.status === 'open')
    .sort((a, b) => rank[a.severity] - rank[b.severity] || Date.parse(b.updatedAt) - Date.parse(a.updatedAt));
}

/** The calibration one verdict was judged by. */
export interface CalibrationView {
  /** The fabric whose threshold applied; null: the model's pooled threshold. */
  fabric: string | null;
  /** The frame's fabric, when it named one the model has no threshold of its own for (so pooled applied). */
  uncalibratedFabric?: string;
  /** The image threshold in force. */
  threshold: number;
  /** The false-alarm rate whose threshold applied; absent when the model's card states none. */
  falseAlarmRate?: number;
}

export function calibrationOf(verdict: Pick<Verdict, 'fabricCode' | 'calibratedFabric' | 'threshold' | 'falseAlarmRate'>): CalibrationView {
  const { fabricCode, calibratedFabric, threshold, falseAlarmRate } = verdict;
  return {
    fabric: calibratedFabric ?? null,
    ...(calibratedFabric === undefined && fabricCode !== undefined ? { uncalibratedFabric: fabricCode } : {}),
    threshold,
    ...(falseAlarmRate === undefined ? {} : { falseAlarmRate }),
  };
}

/** A false-alarm rate as people read it: 0.05 → "5 %", 0.005 → "0.5 %", 0.0125 → "1.3 %". */
export function formatRate(rate: number): string {
  return `${Number((rate * 100).toPrecision(2))} %`;
}

/** Whose threshold and at which rate, in words: "fabric 05 · 5 % false alarms", "pooled (fabric 09 not calibrated)". */
export function describeCalibration(calibration: CalibrationView): string {
  const whose = calibration.fabric !== null ? `fabric ${calibration.fabric}` : calibration.uncalibratedFabric === undefined ? 'pooled' : `pooled (fabric ${calibration.uncalibratedFabric} not calibrated)`;
  return calibration.falseAlarmRate === undefined ? whose : `${whose} · ${formatRate(calibration.falseAlarmRate)} false alarms`;
}

/** What decides a line's frames under one deployment. */
export interface LineServing {
  model: string;
  revision: number;
  production: string;
  /** The canary version, when it decides this whole line or some of its cameras. */
  canary?: { version: string; cameras: string[]; wholeLine: boolean };
  fabrics: Record<string, string>;
  shadow?: { version: string; sample: number };
  /** The false-alarm rate the deployment asks for on this line; absent: each card's default. */
  falseAlarmRate?: number;
}

/** The line's own rate, else the deployment's (as `falseAlarmRateFor` of the contracts: this module imports types only). */
function lineFalseAlarmRate(deployment: Deployment, lineId: string): number | undefined {
  const point = deployment.operatingPoint;
  if (point === undefined) return undefined;
  return Object.hasOwn(point.lines, lineId) ? point.lines[lineId] : point.falseAlarmRate;
}

/** The versions serving `lineId` under every deployment in force. */
export function servingOf(state: ViewState, lineId: string): LineServing[] {
  return Object.values(state.deployments)
    .sort((a, b) => a.model.localeCompare(b.model))
    .map((d) => {
      const cameras = (d.canary?.cameras ?? []).filter((c) => c.startsWith(`${lineId}:`)).map((c) => c.slice(lineId.length + 1));
      const wholeLine = d.canary?.lines.includes(lineId) ?? false;
      const falseAlarmRate = lineFalseAlarmRate(d, lineId);
      return {
        model: d.model,
        revision: d.revision,
        production: d.production,
        ...(d.canary !== undefined && (wholeLine || cameras.length > 0) ? { canary: { version: d.canary.version, cameras, wholeLine } } : {}),
        fabrics: d.fabrics,
        ...(d.shadow !== undefined && d.shadow.sample > 0 ? { shadow: d.shadow } : {}),
        ...(falseAlarmRate === undefined ? {} : { falseAlarmRate }),
      };
    });
}
