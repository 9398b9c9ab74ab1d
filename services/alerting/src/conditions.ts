/**
 * What each rule says about one subject at one moment, from the observed history alone.
 * Pure: no clock, no I/O; the engine passes `now` and keeps the lifecycle.
 */
import { labelIsDefect, type AlertObservation, type DriftEvent, type ObjectRef, type Verdict } from '@loomwatch/contracts';
import { groupKey, qualityByGroup, type FrameLabel, type GroupQuality } from '@loomwatch/quality';
import { inSchedule, type RuleOf } from './rules.js';

export interface FrameRef {
  frameId: string;
  anomalyMap?: ObjectRef;
}

interface SeenVerdict extends FrameRef {
  seq: number;
  defect: boolean;
  at: number;
}

interface PendingFrame {
  seq: number;
  frameId: string;
  at: number;
}

interface SeenDeadLetter {
  at: number;
  frameId?: string;
}

/** One camera's recent history: plain data, so it snapshots to JSON as it is. */
export interface CameraHistory {
  lineId: string;
  cameraId: string;
  /** Recent verdicts, oldest first, bounded by the longest frame count and time window of the rules. */
  verdicts: SeenVerdict[];
  lastVerdictSeq: number;
  /** Frames seen with a higher seq than the last verdict, oldest first. */
  pendingFrames: PendingFrame[];
  /** When a frame (or a verdict, which implies one) was last seen. */
  lastFrameAt?: number;
  deadLetters: SeenDeadLetter[];
  /** The drift monitor's latest judgement per fabric ('' for frames without one). */
  drift?: Record<string, DriftEvent>;
  /** The current label of each reviewed frame (feedback.v1), by frame id, within the quality window. */
  labels?: Record<string, FrameLabel>;
  /** Verdicts decided per hour, fabric and model version (`hour|fabric|name@version`), within the quality window. */
  decided?: Record<string, DecidedHour>;
  /** From when `decided` holds every verdict: the first full hour after the first verdict seen. */
  countedFrom?: number;
}

export interface DecidedHour {
  /** The hour's start, in ms. */
  hour: number;
  fabricCode?: string;
  model: { name: string; version: string };
  ok: number;
  defect: number;
}

/**
 * `fire`: the condition holds (opens an episode, or extends the open one);
 * `clear`: it no longer holds (resolves the open episode); `hold`: in between — no change.
 */
export type Judgement =
  | { state: 'fire'; observation: AlertObservation; frames: FrameRef[]; message: string }
  | { state: 'hold' }
  | { state: 'clear'; observation?: AlertObservation };

const HOLD: Judgement = { state: 'hold' };
const CLEAR: Judgement = { state: 'clear' };

function where(lineId: string, cameraId: string | undefined): string {
  return cameraId === undefined ? lineId : `${lineId}/${cameraId}`;
}

function refOf(verdict: SeenVerdict): FrameRef {
  return verdict.anomalyMap === undefined ? { frameId: verdict.frameId } : { frameId: verdict.frameId, anomalyMap: verdict.anomalyMap };
}

/** A defect verdict crossing the score or region level; `undefined` when it does not cross. */
export function levelCrossing(rule: RuleOf<'level'>, verdict: Verdict): Judgement | undefined {
  if (verdict.verdict !== 'defect') return undefined;
  const frames = [{ frameId: verdict.frameId, anomalyMap: verdict.anomalyMap }];
  const at = where(verdict.lineId, verdict.cameraId);
  if (rule.minNormalizedScore !== undefined && verdict.normalizedScore >= rule.minNormalizedScore) {
    return {
      state: 'fire',
      observation: { value: verdict.normalizedScore, threshold: rule.minNormalizedScore },
      frames,
      message: `defect on ${at} with normalised score ${verdict.normalizedScore.toFixed(3)} ≥ ${rule.minNormalizedScore}`,
    };
  }
  const largest = Math.max(0, ...verdict.regions.map((region) => region.area));
  if (rule.minRegionArea !== undefined && largest >= rule.minRegionArea) {
    return {
      state: 'fire',
      observation: { value: largest, threshold: rule.minRegionArea },
      frames,
      message: `defect on ${at} with a region of ${largest} px ≥ ${rule.minRegionArea}`,
    };
  }
  return undefined;
}

/** A level episode resolves after `quietMs` without a crossing. */
export function levelQuiet(rule: RuleOf<'level'>, lastFireAt: number, now: number): Judgement {
  return now - lastFireAt >= rule.quietMs ? CLEAR : HOLD;
}

export function burst(rule: RuleOf<'burst'>, camera: CameraHistory): Judgement {
  const window = camera.verdicts.slice(-rule.frames);
  const defects = window.filter((verdict) => verdict.defect);
  const observation = { value: defects.length, threshold: rule.defects, frames: window.length };
  if (defects.length >= rule.defects) {
    return {
      state: 'fire',
      observation,
      frames: defects.map(refOf),
      message: `${defects.length} defects in the last ${window.length} frames of ${where(camera.lineId, camera.cameraId)}${rule.stopLine ? ': stop the line' : ''}`,
    };
  }
  return defects.length <= rule.resolveAtOrBelow ? { state: 'clear', observation } : HOLD;
}

export function defectRate(rule: RuleOf<'defect-rate'>, cameras: readonly CameraHistory[], now: number, label: string): Judgement {
  const inWindow = cameras.flatMap((camera) => camera.verdicts.filter((verdict) => verdict.at > now - rule.windowMs && verdict.at <= now));
  const defects = inWindow.filter((verdict) => verdict.defect);
  // Too few verdicts to judge a rate (a stopped line among them) is not a high rate.
  if (inWindow.length < rule.minFrames) return CLEAR;
  const rate = defects.length / inWindow.length;
  const observation = { value: rate, threshold: rule.maxRate, frames: inWindow.length, windowMs: rule.windowMs };
  if (rate >= rule.maxRate) {
    return {
      state: 'fire',
      observation,
      frames: defects.sort((a, b) => a.at - b.at).map(refOf),
      message: `defect rate ${(rate * 100).toFixed(1)} % over ${inWindow.length} frames in ${rule.windowMs / 1000} s on ${label} ≥ ${(rule.maxRate * 100).toFixed(1)} %`,
    };
  }
  return rate < (rule.resolveRate ?? rule.maxRate) ? { state: 'clear', observation } : HOLD;
}

export function staleVerdicts(rule: RuleOf<'stale-verdicts'>, camera: CameraHistory, now: number): Judgement {
  const oldest = camera.pendingFrames[0];
  if (oldest === undefined || now - oldest.at < rule.afterMs) return CLEAR;
  const waiting = now - oldest.at;
  return {
    state: 'fire',
    observation: { value: waiting / 1000, threshold: rule.afterMs / 1000, frames: camera.pendingFrames.length },
    frames: camera.pendingFrames.map((frame) => ({ frameId: frame.frameId })),
    message: `frames arrive on ${where(camera.lineId, camera.cameraId)} but no verdict for ${Math.round(waiting / 1000)} s (${camera.pendingFrames.length} waiting)`,
  };
}

/**
 * No frame for `afterMs` while the schedule says the line produces — judged only when the
 * schedule covered the whole of the last `afterMs`, so a shift's first minutes do not alert.
 */
export function noFrames(rule: RuleOf<'no-frames'>, lastFrameAt: number, now: number, label: string): Judgement {
  if (!inSchedule(rule.schedule, now) || !inSchedule(rule.schedule, now - rule.afterMs)) return CLEAR;
  const silent = now - lastFrameAt;
  if (silent < rule.afterMs) return CLEAR;
  return {
    state: 'fire',
    observation: { value: silent / 1000, threshold: rule.afterMs / 1000 },
    frames: [],
    message: `no frames from ${label} for ${Math.round(silent / 1000)} s during production hours`,
  };
}

export function deadLetterRate(rule: RuleOf<'dead-letter-rate'>, cameras: readonly CameraHistory[], now: number, label: string): Judgement {
  const inWindow = cameras
    .flatMap((camera) => camera.deadLetters)
    .filter((letter) => letter.at > now - rule.windowMs && letter.at <= now)
    .sort((a, b) => a.at - b.at);
  const observation = { value: inWindow.length, threshold: rule.maxCount, windowMs: rule.windowMs };
  if (inWindow.length < rule.maxCount) return { state: 'clear', observation };
  return {
    state: 'fire',
    observation,
    frames: inWindow.flatMap((letter) => (letter.frameId === undefined ? [] : [{ frameId: letter.frameId }])),
    message: `${inWindow.length} dead letters in ${rule.windowMs / 1000} s on ${label}: the pipeline is failing, not the fabric`,
  };
}

/** Fires while the latest drift judgement of any of the camera's fabrics tripped a check the rule watches. */
export function drift(rule: RuleOf<'drift'>, camera: CameraHistory): Judgement {
  const watched = new Set(rule.checks);
  const drifting = Object.values(camera.drift ?? {}).filter((event) => event.tripped.some((check) => watched.has(check)));
  const first = drifting[0];
  if (first === undefined) return camera.drift === undefined ? HOLD : CLEAR;
  const measures = first.measures.filter((measure) => measure.tripped && watched.has(measure.check));
  const worst = measures.reduce((a, b) => (Math.abs(b.value) / b.threshold > Math.abs(a.value) / a.threshold ? b : a));
  const fabric = first.fabricCode === undefined ? '' : ` (fabric ${first.fabricCode})`;
  const what = measures.map((measure) => `${measure.check} ${measure.value.toFixed(3)} beyond ${measure.threshold.toFixed(3)}`).join(', ');
  return {
    state: 'fire',
    observation: { value: worst.value, threshold: worst.threshold, frames: worst.frames },
    frames: drifting.map((event) => ({ frameId: event.window.lastFrameId })),
    message: `drift on ${where(camera.lineId, camera.cameraId)}${fabric}: ${what} against ${first.reference.model}@${first.reference.version}'s reference`,
  };
}

function groupName(group: GroupQuality): string {
  const parts = [
    ...(group.group.model === undefined ? [] : [`${group.group.model.name}@${group.group.model.version}`]),
    ...(group.group.fabricCode === undefined ? [] : [`fabric ${group.group.fabricCode === '' ? 'unknown' : group.group.fabricCode}`]),
  ];
  return parts.length === 0 ? '' : ` of ${parts.join(', ')}`;
}

/**
 * Fires while a group of the subject (per model version, fabric: `rule.per`) with at least
 * `minReviews` reviewed defect verdicts decided in the window has a precision whose 95 % interval
 * lies wholly below the floor; clears once every such group's point estimate is at or above the
 * floor, or no group has enough reviews. The observation is the worst group's point estimate.
 */
export function precision(rule: RuleOf<'precision'>, cameras: readonly CameraHistory[], now: number, label: string): Judgement {
  const labels = cameras
    .flatMap((camera) => Object.values(camera.labels ?? {}))
    .filter((frame) => Date.parse(frame.decidedAt) > now - rule.windowMs && Date.parse(frame.decidedAt) <= now);
  const judged = qualityByGroup(labels, [], { by: rule.per }).filter((group) => (group.precision?.trials ?? 0) >= rule.minReviews);
  const worst = judged.reduce<GroupQuality | undefined>((a, b) => (a === undefined || (b.precision?.upper ?? 1) < (a.precision?.upper ?? 1) ? b : a), undefined);
  if (worst?.precision === undefined) return CLEAR;
  const { value, lower, upper, trials } = worst.precision;
  const observation = { value, threshold: rule.floor, frames: trials, windowMs: rule.windowMs };
  if (upper < rule.floor) {
    const falseAlarms = labels
      .filter((frame) => frame.verdict === 'defect' && !labelIsDefect(frame.label) && groupKey(frame, rule.per) === worst.key)
      .sort((a, b) => Date.parse(a.decidedAt) - Date.parse(b.decidedAt));
    return {
      state: 'fire',
      observation,
      frames: falseAlarms.map((frame) => ({ frameId: frame.frameId })),
      message:
        `precision ${value.toFixed(2)} (95 % interval ${lower.toFixed(2)}–${upper.toFixed(2)}) over ${trials} reviewed defect verdicts` +
        `${groupName(worst)} on ${label} in ${rule.windowMs / 3600_000} h, below the floor ${rule.floor}: ${falseAlarms.length} false alarms`,
    };
  }
  return judged.every((group) => (group.precision?.value ?? 1) >= rule.floor) ? { state: 'clear', observation } : HOLD;
}
