/**
 * The soak's verdict: every input record has exactly one outcome. Pure: what the frames topic
 * holds, what the verdict and dead-letter topics hold (each read read_committed by kcat), in; the
 * counts out.
 */
import { quantile } from '@loomwatch/observability';

/** What the frames topic holds: good frames by id (a frame published twice counts twice), poison by tag with its expected code. */
export interface Inputs {
  frames: Map<string, number>;
  poison: Map<string, string>;
}

export interface Outcomes {
  /** frameId of each verdict. */
  verdicts: readonly string[];
  /** Each dead letter's code and the original value the worker copied into it. */
  deadLetters: readonly { code: string; originalValue: string }[];
}

export interface SoakCounts {
  goodFrames: number;
  /** Good frames with as many verdicts as they have input records (one, unless the publisher sent one twice). */
  exactlyOnce: number;
  /** Input records that appeared twice on the frames topic (a publish retried after a lost acknowledgement). */
  duplicatedInputs: number;
  missingVerdicts: string[];
  extraVerdicts: string[];
  poisonFrames: number;
  poisonDeadLettered: number;
  poisonMissing: string[];
  poisonWrongCode: string[];
  poisonDuplicated: string[];
  /** Dead letters of good frames, or of nothing the run sent. */
  unexpectedDeadLetters: string[];
  byCode: Record<string, number>;
}

const TAG = /soak-poison-\d+/;

export function countOutcomes(inputs: Inputs, outcomes: Outcomes): SoakCounts {
  const verdicts = new Map<string, number>();
  for (const frameId of outcomes.verdicts) verdicts.set(frameId, (verdicts.get(frameId) ?? 0) + 1);
  const missingVerdicts: string[] = [];
  const extraVerdicts: string[] = [];
  let exactlyOnce = 0;
  let duplicatedInputs = 0;
  for (const [frameId, records] of inputs.frames) {
    const got = verdicts.get(frameId) ?? 0;
    if (records > 1) duplicatedInputs += records - 1;
    if (got === records) exactlyOnce++;
    else if (got < records) missingVerdicts.push(frameId);
    else extraVerdicts.push(frameId);
  }
  for (const frameId of verdicts.keys()) if (!inputs.frames.has(frameId)) extraVerdicts.push(frameId);

  const letters = new Map<string, string[]>();
  const unexpectedDeadLetters: string[] = [];
  const byCode: Record<string, number> = {};
  for (const letter of outcomes.deadLetters) {
    byCode[letter.code] = (byCode[letter.code] ?? 0) + 1;
    const tag = TAG.exec(letter.originalValue)?.[0];
    if (tag === undefined || !inputs.poison.has(tag)) unexpectedDeadLetters.push(`${letter.code}: ${letter.originalValue.slice(0, 120)}`);
    else letters.set(tag, [...(letters.get(tag) ?? []), letter.code]);
  }
  const poisonMissing: string[] = [];
  const poisonWrongCode: string[] = [];
  const poisonDuplicated: string[] = [];
  let poisonDeadLettered = 0;
  for (const [tag, code] of inputs.poison) {
    const codes = letters.get(tag) ?? [];
    if (codes.length === 0) poisonMissing.push(tag);
    else if (codes.length > 1) poisonDuplicated.push(tag);
    else if (codes[0] !== code) poisonWrongCode.push(`${tag}: ${codes[0] ?? ''} instead of ${code}`);
    else poisonDeadLettered++;
  }
  return {
    goodFrames: inputs.frames.size,
    exactlyOnce,
    duplicatedInputs,
    missingVerdicts,
    extraVerdicts,
    poisonFrames: inputs.poison.size,
    poisonDeadLettered,
    poisonMissing,
    poisonWrongCode,
    poisonDuplicated,
    unexpectedDeadLetters,
    byCode,
  };
}

/** Whether the run passed: every good frame once, every poison frame once with its code, nothing else. */
export function passed(counts: SoakCounts): boolean {
  return (
    counts.exactlyOnce === counts.goodFrames &&
    counts.extraVerdicts.length === 0 &&
    counts.poisonDeadLettered === counts.poisonFrames &&
    counts.unexpectedDeadLetters.length === 0
  );
}

export interface WindowStats {
  /** Seconds since the run started, at the window's start. */
  at: number;
  framesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** Throughput and latency (p50, p99) per window of `windowSec`, by decision time. */
export function overTime(samples: readonly { decidedAt: number; latencyMs: number }[], startMs: number, windowSec: number): WindowStats[] {
  const windows = new Map<number, number[]>();
  for (const sample of samples) {
    const index = Math.floor((sample.decidedAt - startMs) / 1000 / windowSec);
    const window = windows.get(index) ?? [];
    window.push(sample.latencyMs);
    windows.set(index, window);
  }
  const last = Math.max(-1, ...windows.keys());
  return Array.from({ length: last + 1 }, (_, index) => {
    const latencies = (windows.get(index) ?? []).sort((a, b) => a - b);
    return { at: index * windowSec, framesPerSecond: latencies.length / windowSec, p50Ms: quantile(latencies, 0.5), p99Ms: quantile(latencies, 0.99) };
  });
}
