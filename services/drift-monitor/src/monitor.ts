/**
 * Sliding windows of verdicts per line, camera and fabric, judged against the reference profile of
 * the model version that decided them. A window starts again when the version changes (another
 * version's scores are another distribution). Pure: verdicts in, drift events out.
 */
import type { DriftEvent, ReferenceProfile, Verdict } from '@loomwatch/contracts';
import { judgeWindow, referenceFor, type DriftThresholds, type WindowFrame } from './checks.js';

export interface WindowSettings {
  /** Frames the input checks judge. */
  inputFrames: number;
  /** Frames the score and defect-rate checks judge (the last ones seen). */
  scoreFrames: number;
  /** A window is judged again after this many new frames. */
  everyFrames: number;
}

/** The reference a verdict's model version brings, or why there is none. */
export type ReferenceLookup = { model: string; version: string; profile: ReferenceProfile } | { missing: string };

interface Window {
  modelVersion: string;
  frames: (WindowFrame & { frameId: string; capturedAt: string })[];
  sinceJudged: number;
}

export class DriftMonitor {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly settings: WindowSettings,
    private readonly thresholds: DriftThresholds,
    private readonly monitorId: string,
  ) {}

  /** Adds the verdict to its window; returns the window's judgement when one is due. */
  observe(verdict: Verdict, reference: ReferenceLookup, now: Date): DriftEvent | undefined {
    if ('missing' in reference) return undefined;
    const fabricCode = verdict.fabricCode ?? verdict.calibratedFabric;
    const key = `${verdict.lineId}:${verdict.cameraId}:${fabricCode ?? ''}`;
    const modelVersion = `${reference.model}@${reference.version}`;
    let window = this.windows.get(key);
    if (window?.modelVersion !== modelVersion) {
      window = { modelVersion, frames: [], sinceJudged: 0 };
      this.windows.set(key, window);
    }
    window.frames.push({ frameId: verdict.frameId, capturedAt: verdict.capturedAt, inputStats: verdict.inputStats, score: verdict.score, defect: verdict.verdict === 'defect' });
    const keep = Math.max(this.settings.inputFrames, this.settings.scoreFrames);
    if (window.frames.length > keep) window.frames.splice(0, window.frames.length - keep);
    window.sinceJudged++;
    if (window.frames.length < this.settings.inputFrames || window.sinceJudged < this.settings.everyFrames) return undefined;
    window.sinceJudged = 0;

    const inputFrames = window.frames.slice(-this.settings.inputFrames);
    const scoreFrames = window.frames.slice(-this.settings.scoreFrames);
    const part = referenceFor(reference.profile, fabricCode);
    const measures = judgeWindow(inputFrames, scoreFrames, part, this.thresholds);
    const tripped = measures.filter((measure) => measure.tripped).map((measure) => measure.check);
    const first = inputFrames[0] ?? window.frames[0];
    const last = window.frames[window.frames.length - 1];
    if (first === undefined || last === undefined) return undefined;
    return {
      lineId: verdict.lineId,
      cameraId: verdict.cameraId,
      ...(fabricCode === undefined ? {} : { fabricCode }),
      status: tripped.length > 0 ? 'drifting' : 'ok',
      tripped,
      measures,
      window: { frames: inputFrames.length, firstFrameId: first.frameId, lastFrameId: last.frameId, from: first.capturedAt, to: last.capturedAt },
      reference: { model: reference.model, version: reference.version, split: reference.profile.split, scope: part.scope },
      evaluatedAt: now.toISOString(),
      monitorId: this.monitorId,
    };
  }
}
