/** The replay report's figures, computed from the two verdict streams and the frames' facts. */
import { isJoined, pairByFrame, type FrameCatalog, type FramePair, type LatestVerdicts } from './report-join.js';
import {
  NO_STATED_RATE,
  UNKNOWN,
  type ComparisonFigures,
  type FrameFacts,
  type GroupFigures,
  type JoinedFrame,
  type ReplayReport,
  type VerdictPoint,
  type VerdictStreamFigures,
} from './report-model.js';
import { reviewedSection, type ReviewedInput } from './report-reviewed.js';
import { summarize, symmetricHistogram } from './report-stats.js';

/** @defaultValue 50 flipped frame ids per direction in report.json */
const FLIP_LIST_LIMIT = 50;

export interface ReportInputs {
  candidate: { topic: string; verdicts: LatestVerdicts; invalid: number };
  baseline: { topic: string; verdicts: LatestVerdicts; invalid: number };
  frames: { topic: string; catalog: FrameCatalog; invalid: number };
  /** The reviews (`--feedback-topic`); absent: no reviewed-frames section. */
  feedback?: ReviewedInput;
  generatedAt: Date;
  flipListLimit?: number;
}

const UNKNOWN_FACTS: FrameFacts = { defectCode: UNKNOWN, fabricCode: UNKNOWN };

function scoreDelta(frame: JoinedFrame): number {
  return frame.candidate.score - frame.baseline.score;
}

/** The comparison over any set of frames; the same figures for the whole report and each group. */
function compare(pairs: readonly FramePair[]): ComparisonFigures {
  const joined = pairs.filter(isJoined);
  const agreed = joined.filter((frame) => frame.candidate.verdict === frame.baseline.verdict).length;
  const defects = (side: 'candidate' | 'baseline'): number | null =>
    joined.length === 0 ? null : joined.filter((frame) => frame[side].verdict === 'defect').length / joined.length;
  return {
    candidateFrames: pairs.filter((pair) => pair.candidate !== undefined).length,
    baselineFrames: pairs.filter((pair) => pair.baseline !== undefined).length,
    joined: joined.length,
    onlyCandidate: pairs.filter((pair) => pair.baseline === undefined).length,
    onlyBaseline: pairs.filter((pair) => pair.candidate === undefined).length,
    agreed,
    agreementRate: joined.length === 0 ? null : agreed / joined.length,
    flips: { okToDefect: flipsOf(joined, 'ok').length, defectToOk: flipsOf(joined, 'defect').length },
    defectRate: { baseline: defects('baseline'), candidate: defects('candidate') },
    scoreDelta: summarize(joined.map(scoreDelta)),
  };
}

/** Joined frames the baseline called `from` and the candidate the other way. */
function flipsOf(joined: readonly JoinedFrame[], from: 'ok' | 'defect'): JoinedFrame[] {
  return joined.filter((frame) => frame.baseline.verdict === from && frame.candidate.verdict !== from);
}

function largestDeltaFirst(frames: readonly JoinedFrame[], limit: number): string[] {
  return [...frames]
    .sort((a, b) => Math.abs(scoreDelta(b)) - Math.abs(scoreDelta(a)) || (a.frameId < b.frameId ? -1 : 1))
    .slice(0, limit)
    .map((frame) => frame.frameId);
}

/** Groups sorted by key, each with the comparison of its frames. */
function breakdown(pairs: readonly FramePair[], keyOf: (pair: FramePair) => string): GroupFigures[] {
  const groups = new Map<string, FramePair[]>();
  for (const pair of pairs) {
    const key = keyOf(pair);
    const members = groups.get(key);
    if (members === undefined) groups.set(key, [pair]);
    else members.push(pair);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, members]) => ({ key, ...compare(members) }));
}

/** Either side's verdict: they name the same frame, so the same line and camera. */
function anyVerdict(pair: FramePair): VerdictPoint {
  return (pair.candidate ?? pair.baseline) as VerdictPoint;
}

/** Kept verdicts per value of `key`, in key order. */
function countBy(verdicts: LatestVerdicts, key: (point: VerdictPoint) => string): Record<string, number> {
  const counts = new Map<string, number>();
  for (const point of verdicts.byFrame.values()) counts.set(key(point), (counts.get(key(point)) ?? 0) + 1);
  return Object.fromEntries([...counts].sort(([a], [b]) => (a < b ? -1 : 1)));
}

function streamFigures(stream: ReportInputs['candidate']): VerdictStreamFigures {
  return {
    topic: stream.topic,
    messages: stream.verdicts.messages,
    frames: stream.verdicts.byFrame.size,
    superseded: stream.verdicts.superseded,
    invalid: stream.invalid,
    models: countBy(stream.verdicts, (point) => point.model),
    falseAlarmRates: countBy(stream.verdicts, (point) => (point.falseAlarmRate === null ? NO_STATED_RATE : String(point.falseAlarmRate))),
  };
}

export function buildReport(inputs: ReportInputs): ReplayReport {
  const limit = inputs.flipListLimit ?? FLIP_LIST_LIMIT;
  const pairs = pairByFrame(inputs.candidate.verdicts.byFrame, inputs.baseline.verdicts.byFrame);
  const joined = pairs.filter(isJoined);
  const facts = (pair: FramePair): FrameFacts => inputs.frames.catalog.byFrame.get(pair.frameId) ?? UNKNOWN_FACTS;
  const { catalog } = inputs.frames;
  const reviewed =
    inputs.feedback === undefined ? undefined : reviewedSection(inputs.feedback, inputs.candidate.verdicts.byFrame, inputs.baseline.verdicts.byFrame, limit);
  return {
    generatedAt: inputs.generatedAt.toISOString(),
    streams: {
      candidate: streamFigures(inputs.candidate),
      baseline: streamFigures(inputs.baseline),
      frames: {
        topic: inputs.frames.topic,
        messages: catalog.messages,
        frames: catalog.byFrame.size,
        superseded: catalog.superseded,
        invalid: inputs.frames.invalid,
      },
    },
    overall: {
      ...compare(pairs),
      flipFrameIds: {
        okToDefect: largestDeltaFirst(flipsOf(joined, 'ok'), limit),
        defectToOk: largestDeltaFirst(flipsOf(joined, 'defect'), limit),
      },
      flipListLimit: limit,
      normalizedScoreDelta: summarize(joined.map((frame) => frame.candidate.normalizedScore - frame.baseline.normalizedScore)),
      scoreDeltaHistogram: symmetricHistogram(joined.map(scoreDelta)),
      framesWithoutEvent: pairs.filter((pair) => !catalog.byFrame.has(pair.frameId)).length,
    },
    byLine: breakdown(pairs, (pair) => anyVerdict(pair).lineId),
    byCamera: breakdown(pairs, (pair) => `${anyVerdict(pair).lineId}:${anyVerdict(pair).cameraId}`),
    byDefectCode: breakdown(pairs, (pair) => facts(pair).defectCode),
    byFabricCode: breakdown(pairs, (pair) => facts(pair).fabricCode),
    ...(reviewed === undefined ? {} : { reviewed: reviewed.reviewed, reviewedFrames: reviewed.detail }),
  };
}
