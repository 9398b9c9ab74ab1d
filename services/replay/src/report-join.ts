/** Per-frame join of two verdict streams, keeping the latest verdict of each frame on each side. */
import type { FrameFacts, JoinedFrame, VerdictPoint } from './report-model.js';

/**
 * The latest verdict of every frame of one stream. A topic can hold several verdicts of a frame
 * (a replay run twice into it, a live re-decision); the one decided last wins, and on a tie the
 * one read last — a frame's verdicts share a key, hence a partition, so that is the later offset.
 */
export class LatestVerdicts {
  readonly byFrame = new Map<string, VerdictPoint>();
  /** Verdicts superseded by a later one of the same frame (a replay run again into its topic, a frame decided again). */
  superseded = 0;
  /** Valid verdicts added. */
  messages = 0;

  add(point: VerdictPoint): void {
    this.messages += 1;
    const kept = this.byFrame.get(point.frameId);
    if (kept !== undefined) {
      this.superseded += 1;
      if (Date.parse(point.decidedAt) < Date.parse(kept.decidedAt)) return;
    }
    this.byFrame.set(point.frameId, point);
  }
}

/** The latest event facts of every frame on the frames topic (a re-published frame replaces its facts). */
export class FrameCatalog {
  readonly byFrame = new Map<string, FrameFacts>();
  /** Events superseded by a later one of the same frame (a frame published again). */
  superseded = 0;
  messages = 0;

  add(frameId: string, facts: FrameFacts): void {
    this.messages += 1;
    if (this.byFrame.has(frameId)) this.superseded += 1;
    this.byFrame.set(frameId, facts);
  }
}

/** One frame of either stream, with its verdict on each side where it has one. */
export interface FramePair {
  frameId: string;
  candidate: VerdictPoint | undefined;
  baseline: VerdictPoint | undefined;
}

export function isJoined(pair: FramePair): pair is JoinedFrame {
  return pair.candidate !== undefined && pair.baseline !== undefined;
}

/** Every frame of either stream, in frameId order so reports are reproducible. */
export function pairByFrame(candidate: ReadonlyMap<string, VerdictPoint>, baseline: ReadonlyMap<string, VerdictPoint>): FramePair[] {
  const frameIds = new Set([...candidate.keys(), ...baseline.keys()]);
  return [...frameIds]
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((frameId) => ({ frameId, candidate: candidate.get(frameId), baseline: baseline.get(frameId) }));
}
