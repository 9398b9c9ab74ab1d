/**
 * The alerting core: a state machine fed events (verdict, frame, dead letter, drift, feedback, clock tick) with
 * the time passed in, returning the alert messages to publish. No clock and no I/O inside, so a
 * crafted stream of events gives the same alerts every time, and the state is plain JSON that a
 * restart restores.
 *
 * Lifecycle per dedup key (`rule:line:camera`, `rule:line:*` for a line-wide subject): a firing
 * condition opens an episode (revision 0) unless the key is cooling down after its last episode;
 * further firings extend the open episode (frames, observation) without a message; the condition
 * clearing resolves it (next revision) and starts the cooldown.
 */
import { createHash } from 'node:crypto';
import type { Alert, DriftEvent, Feedback, Verdict } from '@loomwatch/contracts';
import { applyFeedback, type FrameLabel, type VerdictCount } from '@loomwatch/quality';
import {
  burst,
  deadLetterRate,
  defectRate,
  drift,
  levelCrossing,
  levelQuiet,
  noFrames,
  precision,
  staleVerdicts,
  type CameraHistory,
  type FrameRef,
  type Judgement,
} from './conditions.js';
import { ruleMatches, type Rule } from './rules.js';

export type AlertEvent =
  | { type: 'verdict'; verdict: Verdict }
  | { type: 'frame'; lineId: string; cameraId: string; frameId: string; seq: number }
  | { type: 'dead-letter'; lineId: string; cameraId: string; frameId?: string }
  | { type: 'drift'; drift: DriftEvent }
  | { type: 'feedback'; feedback: Feedback }
  | { type: 'tick' };

interface OpenEpisode {
  alert: Alert;
  lastFireAt: number;
}

/** Everything the engine remembers; JSON-serialisable as it is. */
interface EngineState {
  /** When the engine first saw time pass: a line silent since then counts as silent. */
  observedSince?: number;
  cameras: Record<string, CameraHistory>;
  open: Record<string, OpenEpisode>;
  /** Dedup key → time until which no new episode opens. */
  cooldownUntil: Record<string, number>;
}

/** Frame ids and maps an alert carries at most (the schema's limit). */
const MAX_FRAMES = 100;
/** Verdicts remembered per camera whatever the windows ask for, to bound memory. */
const MAX_VERDICTS_PER_CAMERA = 10_000;
const MAX_DEAD_LETTERS_PER_CAMERA = 10_000;
/** Reviewed frames remembered per camera whatever the windows ask for. */
const MAX_LABELS_PER_CAMERA = 20_000;
const HOUR_MS = 3600_000;

export interface EngineOptions {
  /** How far back (by the verdicts' decision time) reviews and verdict counts are kept for the quality figures. @defaultValue 0 */
  qualityWindowMs?: number;
}

/** What the quality figures are computed from, within a window. */
export interface QualityInputs {
  /** Every reviewed frame decided within the window. */
  labels: FrameLabel[];
  /** Reviewed frames decided since each camera's verdicts were all counted: coverage's numerator. */
  countedLabels: FrameLabel[];
  /** The verdicts counted within the window: coverage's denominator. */
  verdicts: VerdictCount[];
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function subjectKey(lineId: string, cameraId: string | undefined): string {
  return `${lineId}:${cameraId ?? '*'}`;
}

function dedupKeyOf(rule: string, lineId: string, cameraId: string | undefined): string {
  return `${rule}:${subjectKey(lineId, cameraId)}`;
}

/** Deterministic, so the same episode gets the same id after a restart or a replay. */
export function alertIdOf(dedupKey: string, openedAt: number): string {
  return createHash('sha256').update(`${dedupKey}@${openedAt}`).digest('hex').slice(0, 32);
}

function mergeFrames(alert: Alert, frames: readonly FrameRef[]): Pick<Alert, 'frameIds' | 'anomalyMaps'> {
  const known = new Set(alert.frameIds);
  const added = frames.filter((frame) => !known.has(frame.frameId));
  const maps = new Set(alert.anomalyMaps.map((map) => `${map.bucket}/${map.key}`));
  const addedMaps = added
    .flatMap((frame) => (frame.anomalyMap === undefined ? [] : [frame.anomalyMap]))
    .filter((map) => !maps.has(`${map.bucket}/${map.key}`));
  return {
    frameIds: [...alert.frameIds, ...added.map((frame) => frame.frameId)].slice(-MAX_FRAMES),
    anomalyMaps: [...alert.anomalyMaps, ...addedMaps].slice(-MAX_FRAMES),
  };
}

export class AlertEngine {
  private rules: readonly Rule[];
  private readonly state: EngineState;
  /** Firings swallowed by a cooldown, for the metrics. */
  suppressed = 0;
  private silent = false;
  private readonly qualityWindowMs: number;

  constructor(rules: readonly Rule[], state?: EngineState, options: EngineOptions = {}) {
    this.rules = rules;
    this.qualityWindowMs = options.qualityWindowMs ?? 0;
    this.state = state === undefined ? { cameras: {}, open: {}, cooldownUntil: {} } : structuredClone(state);
  }

  /** A deep copy of the state, to persist; `new AlertEngine(rules, snapshot)` carries on from it. */
  snapshot(): EngineState {
    return structuredClone(this.state);
  }

  openAlerts(): Alert[] {
    return Object.values(this.state.open).map((episode) => episode.alert);
  }

  /**
   * Swaps the rules (SIGHUP). Open episodes of rules that are gone, or whose subject the new rule
   * no longer matches, are resolved now rather than forgotten.
   */
  setRules(rules: readonly Rule[], now: number): Alert[] {
    this.rules = rules;
    const out: Alert[] = [];
    for (const [key, episode] of Object.entries(this.state.open)) {
      const rule = rules.find((candidate) => candidate.name === episode.alert.rule);
      if (rule === undefined || rule.kind !== episode.alert.kind || !ruleMatches(rule, episode.alert.lineId, episode.alert.cameraId)) {
        out.push(this.resolve(key, episode, now, 'rule removed or changed'));
      }
    }
    return out;
  }

  handle(event: AlertEvent, now: number): Alert[] {
    this.state.observedSince ??= now;
    this.record(event, now);
    switch (event.type) {
      case 'verdict':
        return this.judgeVerdict(event.verdict, now);
      case 'frame':
      case 'dead-letter':
        return this.evaluateSubject(event.lineId, event.cameraId, now);
      case 'drift':
        return this.evaluateSubject(event.drift.lineId, event.drift.cameraId, now);
      case 'feedback':
        return this.evaluateSubject(event.feedback.lineId, event.feedback.cameraId, now, true);
      case 'tick':
        return this.evaluateAll(now);
    }
  }

  /**
   * Adds an event to the history without sending anything: a restart re-reads the inputs it had
   * already decided through here, after `restoreEpisodes`. Conditions that fire extend the
   * episodes open at that time (frames, a level rule's quiet period) but open or resolve nothing.
   */
  observe(event: AlertEvent, now: number): void {
    if (event.type === 'tick') return;
    this.silent = true;
    try {
      this.handle(event, now);
    } finally {
      this.silent = false;
    }
  }

  /**
   * Takes the episodes as the alerts topic tells them (each message, in order): the latest
   * message per dedup key decides whether it is open, or cooling down after it resolved.
   */
  restoreEpisodes(alerts: readonly Alert[], now: number): void {
    const latest = new Map<string, Alert>();
    for (const alert of alerts) {
      const previous = latest.get(alert.dedupKey);
      if (previous === undefined || previous.alertId !== alert.alertId || (alert.revision ?? 0) >= (previous.revision ?? 0)) {
        latest.set(alert.dedupKey, alert);
      }
    }
    for (const [key, alert] of latest) {
      if (alert.status === 'open') {
        this.state.open[key] = { alert, lastFireAt: Date.parse(alert.updatedAt) };
        delete this.state.cooldownUntil[key];
        continue;
      }
      delete this.state.open[key];
      const rule = this.rules.find((candidate) => candidate.name === alert.rule);
      const until = Date.parse(alert.resolvedAt ?? alert.updatedAt) + (rule?.cooldownMs ?? 0);
      if (until > now) this.state.cooldownUntil[key] = until;
    }
  }

  private record(event: AlertEvent, now: number): void {
    switch (event.type) {
      case 'verdict': {
        const { verdict } = event;
        const camera = this.camera(verdict.lineId, verdict.cameraId);
        camera.verdicts.push({ seq: verdict.seq, frameId: verdict.frameId, defect: verdict.verdict === 'defect', at: now, anomalyMap: verdict.anomalyMap });
        camera.lastVerdictSeq = Math.max(camera.lastVerdictSeq, verdict.seq);
        camera.pendingFrames = camera.pendingFrames.filter((frame) => frame.seq > camera.lastVerdictSeq);
        camera.lastFrameAt = Math.max(camera.lastFrameAt ?? now, now);
        if (this.countDecided(camera, verdict)) this.pruneQuality(camera, now);
        this.prune(camera, now);
        return;
      }
      case 'frame': {
        const camera = this.camera(event.lineId, event.cameraId);
        camera.lastFrameAt = Math.max(camera.lastFrameAt ?? now, now);
        const { seq } = event;
        // Frames and verdicts come from different topics: a frame read after its verdict is not waiting.
        if (seq > camera.lastVerdictSeq && camera.pendingFrames.length < MAX_FRAMES && !camera.pendingFrames.some((f) => f.seq === seq)) {
          camera.pendingFrames.push({ seq, frameId: event.frameId, at: now });
        }
        return;
      }
      case 'dead-letter': {
        const camera = this.camera(event.lineId, event.cameraId);
        camera.deadLetters.push(event.frameId === undefined ? { at: now } : { at: now, frameId: event.frameId });
        this.prune(camera, now);
        return;
      }
      case 'drift': {
        const camera = this.camera(event.drift.lineId, event.drift.cameraId);
        camera.drift = { ...camera.drift, [event.drift.fabricCode ?? '']: event.drift };
        return;
      }
      case 'feedback': {
        const { feedback } = event;
        const camera = this.camera(feedback.lineId, feedback.cameraId);
        const labels = (camera.labels ??= {});
        const next = applyFeedback(labels[feedback.frameId], feedback);
        if (next !== undefined) labels[feedback.frameId] = next;
        this.pruneQuality(camera, now);
        return;
      }
      case 'tick':
        return;
    }
  }

  private camera(lineId: string, cameraId: string): CameraHistory {
    const key = subjectKey(lineId, cameraId);
    let camera = this.state.cameras[key];
    if (camera === undefined) {
      camera = { lineId, cameraId, verdicts: [], lastVerdictSeq: -1, pendingFrames: [], deadLetters: [] };
      this.state.cameras[key] = camera;
    }
    return camera;
  }

  private camerasOfLine(lineId: string): CameraHistory[] {
    return Object.values(this.state.cameras).filter((camera) => camera.lineId === lineId);
  }

  private judgeVerdict(verdict: Verdict, now: number): Alert[] {
    const out: Alert[] = [];
    for (const rule of this.rules) {
      if (rule.kind === 'level' && ruleMatches(rule, verdict.lineId, verdict.cameraId)) {
        const crossing = levelCrossing(rule, verdict);
        if (crossing !== undefined) out.push(...this.apply(rule, verdict.lineId, verdict.cameraId, crossing, now));
      }
    }
    out.push(...this.evaluateSubject(verdict.lineId, verdict.cameraId, now));
    return out;
  }

  /** Counts a verdict in its decision hour, for review coverage; true when the hour is new. */
  private countDecided(camera: CameraHistory, verdict: Verdict): boolean {
    const hour = Math.floor(Date.parse(verdict.decidedAt) / HOUR_MS) * HOUR_MS;
    camera.countedFrom ??= hour + HOUR_MS;
    const key = `${hour}|${verdict.fabricCode ?? ''}|${verdict.model.name}@${verdict.model.version}`;
    const decided = (camera.decided ??= {});
    const fresh = decided[key] === undefined;
    const counted = (decided[key] ??= {
      hour,
      ...(verdict.fabricCode === undefined ? {} : { fabricCode: verdict.fabricCode }),
      model: { name: verdict.model.name, version: verdict.model.version },
      ok: 0,
      defect: 0,
    });
    counted[verdict.verdict]++;
    return fresh;
  }

  /** The reviewed frames and verdict counts decided within `windowMs` before `now`, of every camera. */
  qualityInputs(now: number, windowMs: number): QualityInputs {
    const inputs: QualityInputs = { labels: [], countedLabels: [], verdicts: [] };
    for (const camera of Object.values(this.state.cameras)) {
      const countedFrom = Math.max(camera.countedFrom ?? Infinity, now - windowMs);
      for (const label of Object.values(camera.labels ?? {})) {
        const decidedAt = Date.parse(label.decidedAt);
        if (decidedAt <= now - windowMs || decidedAt > now) continue;
        inputs.labels.push(label);
        if (decidedAt >= countedFrom) inputs.countedLabels.push(label);
      }
      for (const hour of Object.values(camera.decided ?? {})) {
        if (hour.hour < countedFrom || hour.hour > now) continue;
        for (const verdict of ['ok', 'defect'] as const) {
          const { lineId, cameraId } = camera;
          inputs.verdicts.push({ lineId, cameraId, ...(hour.fabricCode === undefined ? {} : { fabricCode: hour.fabricCode }), model: hour.model, verdict, count: hour[verdict] });
        }
      }
    }
    return inputs;
  }

  /**
   * Keeps the reviews and verdict counts the quality window and the precision rules' windows need
   * (by decision time), and no more reviews than the hard bound. On a review, a new hour of counts
   * and the tick: not on every verdict.
   */
  private pruneQuality(camera: CameraHistory, now: number): void {
    let windowMs = this.qualityWindowMs;
    for (const rule of this.rules) if (rule.kind === 'precision') windowMs = Math.max(windowMs, rule.windowMs);
    if (camera.labels !== undefined) {
      let kept = Object.values(camera.labels).filter((label) => Date.parse(label.decidedAt) > now - windowMs);
      if (kept.length > MAX_LABELS_PER_CAMERA) kept = kept.sort((a, b) => Date.parse(a.decidedAt) - Date.parse(b.decidedAt)).slice(-MAX_LABELS_PER_CAMERA);
      camera.labels = Object.fromEntries(kept.map((label) => [label.frameId, label]));
    }
    if (camera.decided !== undefined) {
      camera.decided = Object.fromEntries(Object.entries(camera.decided).filter(([, hour]) => hour.hour + HOUR_MS > now - windowMs));
    }
  }

  /** Keeps what the longest frame count and time window need, and no more than the hard bounds. */
  private prune(camera: CameraHistory, now: number): void {
    let frames = 0;
    let windowMs = 0;
    let deadLetterWindowMs = 0;
    for (const rule of this.rules) {
      if (rule.kind === 'burst') frames = Math.max(frames, rule.frames);
      if (rule.kind === 'defect-rate') windowMs = Math.max(windowMs, rule.windowMs);
      if (rule.kind === 'dead-letter-rate') deadLetterWindowMs = Math.max(deadLetterWindowMs, rule.windowMs);
    }
    const keepFrom = camera.verdicts.length - frames;
    camera.verdicts = camera.verdicts
      .filter((verdict, index) => index >= keepFrom || verdict.at > now - windowMs)
      .slice(-MAX_VERDICTS_PER_CAMERA);
    camera.deadLetters = camera.deadLetters.filter((letter) => letter.at > now - deadLetterWindowMs).slice(-MAX_DEAD_LETTERS_PER_CAMERA);
  }

  /** Every rule for one camera and its line. */
  private evaluateSubject(lineId: string, cameraId: string, now: number, reviewed = false): Alert[] {
    const out: Alert[] = [];
    for (const rule of this.rules) {
      if (!ruleMatches(rule, lineId, cameraId)) continue;
      // Precision moves with reviews and the window, not with each verdict: judged on those and the tick.
      if (rule.kind === 'precision' && !reviewed) continue;
      const subjects: (string | undefined)[] = 'scope' in rule && rule.scope === 'line' ? [undefined] : [cameraId];
      for (const subject of subjects) out.push(...this.evaluate(rule, lineId, subject, now));
    }
    return out;
  }

  /** Every rule for every subject the engine knows or the rules name: the clock tick. */
  private evaluateAll(now: number): Alert[] {
    for (const camera of Object.values(this.state.cameras)) {
      this.prune(camera, now);
      this.pruneQuality(camera, now);
    }
    for (const [key, until] of Object.entries(this.state.cooldownUntil)) {
      if (until <= now) delete this.state.cooldownUntil[key];
    }
    const out: Alert[] = [];
    const known = Object.values(this.state.cameras).map((camera) => [camera.lineId, camera.cameraId] as const);
    for (const rule of this.rules) {
      const subjects = new Map<string, [string, string | undefined]>();
      const lineScoped = 'scope' in rule && rule.scope === 'line';
      for (const [lineId, cameraId] of known) {
        if (ruleMatches(rule, lineId, cameraId)) subjects.set(subjectKey(lineId, lineScoped ? undefined : cameraId), [lineId, lineScoped ? undefined : cameraId]);
      }
      if (rule.kind === 'no-frames') {
        for (const lineId of rule.match.lines) {
          const cameras = lineScoped ? [undefined] : rule.match.cameras;
          for (const cameraId of cameras) subjects.set(subjectKey(lineId, cameraId), [lineId, cameraId]);
        }
      }
      for (const [lineId, cameraId] of subjects.values()) out.push(...this.evaluate(rule, lineId, cameraId, now));
    }
    return out;
  }

  private judge(rule: Rule, lineId: string, cameraId: string | undefined, now: number): Judgement {
    const label = cameraId === undefined ? `line ${lineId}` : `${lineId}/${cameraId}`;
    const cameras =
      cameraId === undefined
        ? this.camerasOfLine(lineId).filter((camera) => ruleMatches(rule, camera.lineId, camera.cameraId))
        : [this.camera(lineId, cameraId)];
    switch (rule.kind) {
      case 'level': {
        const episode = this.state.open[dedupKeyOf(rule.name, lineId, cameraId)];
        return episode === undefined ? { state: 'hold' } : levelQuiet(rule, episode.lastFireAt, now);
      }
      case 'burst':
        return cameras[0] === undefined ? { state: 'hold' } : burst(rule, cameras[0]);
      case 'defect-rate':
        return defectRate(rule, cameras, now, label);
      case 'stale-verdicts':
        return cameras[0] === undefined ? { state: 'hold' } : staleVerdicts(rule, cameras[0], now);
      case 'no-frames': {
        const seen = cameras.flatMap((camera) => (camera.lastFrameAt === undefined ? [] : [camera.lastFrameAt]));
        return noFrames(rule, Math.max(this.state.observedSince ?? now, ...seen), now, label);
      }
      case 'dead-letter-rate':
        return deadLetterRate(rule, cameras, now, label);
      case 'drift':
        return cameras[0] === undefined ? { state: 'hold' } : drift(rule, cameras[0]);
      case 'precision':
        return precision(rule, cameras, now, label);
    }
  }

  private evaluate(rule: Rule, lineId: string, cameraId: string | undefined, now: number): Alert[] {
    return this.apply(rule, lineId, cameraId, this.judge(rule, lineId, cameraId, now), now);
  }

  private apply(rule: Rule, lineId: string, cameraId: string | undefined, judgement: Judgement, now: number): Alert[] {
    const key = dedupKeyOf(rule.name, lineId, cameraId);
    const episode = this.state.open[key];
    if (this.silent) {
      if (judgement.state === 'fire' && episode !== undefined && now >= Date.parse(episode.alert.openedAt)) this.extend(episode, judgement, now);
      return [];
    }
    switch (judgement.state) {
      case 'hold':
        return [];
      case 'clear':
        if (episode === undefined) return [];
        if (judgement.observation !== undefined) episode.alert = { ...episode.alert, observation: judgement.observation };
        return [this.resolve(key, episode, now)];
      case 'fire': {
        if (episode !== undefined) {
          this.extend(episode, judgement, now);
          return [];
        }
        if (now < (this.state.cooldownUntil[key] ?? -Infinity)) {
          this.suppressed++;
          return [];
        }
        delete this.state.cooldownUntil[key];
        const empty: Alert = {
          alertId: alertIdOf(key, now),
          dedupKey: key,
          rule: rule.name,
          kind: rule.kind,
          status: 'open',
          severity: rule.severity,
          lineId,
          message: judgement.message,
          openedAt: iso(now),
          updatedAt: iso(now),
          revision: 0,
          frameIds: [],
          anomalyMaps: [],
          observation: judgement.observation,
        };
        if (cameraId !== undefined) empty.cameraId = cameraId;
        if (rule.kind === 'burst' && rule.stopLine) empty.stopLine = true;
        const alert: Alert = { ...empty, ...mergeFrames(empty, judgement.frames) };
        this.state.open[key] = { alert, lastFireAt: now };
        return [alert];
      }
    }
  }

  private extend(episode: OpenEpisode, judgement: Extract<Judgement, { state: 'fire' }>, now: number): void {
    episode.alert = { ...episode.alert, ...mergeFrames(episode.alert, judgement.frames), observation: judgement.observation };
    episode.lastFireAt = Math.max(episode.lastFireAt, now);
  }

  private resolve(key: string, episode: OpenEpisode, now: number, why?: string): Alert {
    const { alert } = episode;
    const resolved: Alert = {
      ...alert,
      status: 'resolved',
      message: `resolved${why === undefined ? '' : ` (${why})`}: ${alert.message}`.slice(0, 1024),
      updatedAt: iso(now),
      resolvedAt: iso(now),
      revision: (alert.revision ?? 0) + 1,
    };
    delete this.state.open[key];
    const rule = this.rules.find((candidate) => candidate.name === alert.rule);
    if (rule !== undefined && rule.cooldownMs > 0) this.state.cooldownUntil[key] = now + rule.cooldownMs;
    return resolved;
  }
}
