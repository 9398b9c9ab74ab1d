/**
 * The replay report's data: what it keeps of each message and the figures it publishes.
 *
 * Glossary: *candidate* — the stream under review (a replay or the shadow topic); *baseline* —
 * the stream it is compared with (by default the live `verdicts.v1`); *joined* — a frame with a
 * verdict in both; *flip* — a joined frame whose verdict differs; *score delta* — candidate score
 * minus baseline score of a joined frame.
 */
import type { FeedbackLabel, FrameEvent, ObjectRef, Verdict, VerdictKind } from '@loomwatch/contracts';

/** What the report needs of one verdict; a whole Verdict carries stats and timings it does not. */
export interface VerdictPoint {
  frameId: string;
  lineId: string;
  cameraId: string;
  verdict: VerdictKind;
  score: number;
  normalizedScore: number;
  /** `name@version` */
  model: string;
  /** The false-alarm rate whose threshold applied; null when the verdict states none (a card without operating points). */
  falseAlarmRate: number | null;
  decidedAt: string;
  /** The verdict's overlay image (where the report links a changed frame to); absent in hand-made points. */
  overlay?: ObjectRef;
}

/** What the report needs of one frame event. */
export interface FrameFacts {
  /** AITEX defect code, '000' for a normal frame, 'unknown' when the frame does not say. */
  defectCode: string;
  /** 'unknown' when the frame does not say. */
  fabricCode: string;
}

export const UNKNOWN = 'unknown';

export function toVerdictPoint(
  verdict: Pick<Verdict, 'frameId' | 'lineId' | 'cameraId' | 'verdict' | 'score' | 'normalizedScore' | 'model' | 'decidedAt' | 'falseAlarmRate'> & Partial<Pick<Verdict, 'overlay'>>,
): VerdictPoint {
  return {
    frameId: verdict.frameId,
    lineId: verdict.lineId,
    cameraId: verdict.cameraId,
    verdict: verdict.verdict,
    score: verdict.score,
    normalizedScore: verdict.normalizedScore,
    // A variant that decided in place of the version asked for says so, as its verdict does.
    model: `${verdict.model.name}@${verdict.model.version}${verdict.model.requested === undefined ? '' : ` (${verdict.model.precision ?? 'int8'} for ${verdict.model.requested})`}`,
    falseAlarmRate: verdict.falseAlarmRate ?? null,
    decidedAt: verdict.decidedAt,
    ...(verdict.overlay === undefined ? {} : { overlay: { bucket: verdict.overlay.bucket, key: verdict.overlay.key } }),
  };
}

export function toFrameFacts(frame: Pick<FrameEvent, 'product' | 'attributes'>): FrameFacts {
  return {
    defectCode: nonEmpty(frame.attributes?.['aitexDefectCode']),
    fabricCode: nonEmpty(frame.product?.fabricCode),
  };
}

function nonEmpty(value: string | undefined): string {
  return value === undefined || value === '' ? UNKNOWN : value;
}

/** A joined frame: the same frame decided by both streams. */
export interface JoinedFrame {
  frameId: string;
  baseline: VerdictPoint;
  candidate: VerdictPoint;
}

export interface DistributionSummary {
  count: number;
  mean: number;
  median: number;
  p5: number;
  p95: number;
  min: number;
  max: number;
}

/** Counts of values in [from, to); the last bin also holds `to`. */
export interface HistogramBin {
  from: number;
  to: number;
  count: number;
}

/** The comparison of the two streams over a set of frames (all of them, or one group). */
export interface ComparisonFigures {
  /** Frames with a candidate verdict. */
  candidateFrames: number;
  /** Frames with a baseline verdict. */
  baselineFrames: number;
  joined: number;
  onlyCandidate: number;
  onlyBaseline: number;
  /** Joined frames with the same verdict. */
  agreed: number;
  /** agreed / joined; null when nothing joined. */
  agreementRate: number | null;
  flips: { okToDefect: number; defectToOk: number };
  /**
   * Share of joined frames each side called a defect; on normal frames (defect code '000') this
   * is the false-alarm rate, on defect frames the detection rate. Null when nothing joined.
   */
  defectRate: { baseline: number | null; candidate: number | null };
  /** candidate − baseline `score` of joined frames; null when nothing joined. */
  scoreDelta: DistributionSummary | null;
}

export interface GroupFigures extends ComparisonFigures {
  key: string;
}

interface StreamFigures {
  topic: string;
  /** Valid messages read. */
  messages: number;
  /** Distinct frames (after keeping the latest verdict of each). */
  frames: number;
  /**
   * Messages superseded by a later one of the same frame: a replay run again into its topic (another
   * `--name`), a frame published or decided again. Not an exactly-once failure by itself: each is a
   * committed outcome of its own run.
   */
  superseded: number;
  /** Messages that were not valid verdicts, skipped. */
  invalid: number;
}

export interface VerdictStreamFigures extends StreamFigures {
  /** Frames per `name@version`, counted on the kept verdicts. */
  models: Record<string, number>;
  /**
   * Frames per false-alarm rate their threshold was taken at (`NO_STATED_RATE` for verdicts that
   * name none): two sides judged at different rates flip verdicts without any change of model.
   */
  falseAlarmRates: Record<string, number>;
}

export const NO_STATED_RATE = 'none stated';

/** Reviewed frames of one kind decided by both sides, and how many each side flagged (`ReplayCheck`'s `ReviewedCount`). */
export interface ReviewedCount {
  reviewed: number;
  /** Flagged (`defect`) by the baseline: the production verdicts the reviews answered. */
  parentFlagged: number;
  /** Flagged by the candidate. */
  candidateFlagged: number;
}

/** The labelled frames both sides decided: the fields a retrainer copies into its `ReplayCheck`. Exactly these names. */
export interface ReviewedFigures {
  /** normals.reviewed + defects.reviewed */
  frames: number;
  /** Labelled `false-alarm` or `ok-confirmed`: a flag is a false alarm. */
  normals: ReviewedCount;
  /** Labelled `defect-confirmed` or `missed-defect`: a flag is a catch. */
  defects: ReviewedCount;
}

/** One side's verdict of a changed reviewed frame. */
interface ReviewedSide {
  verdict: VerdictKind;
  score: number;
  model: string;
  overlay?: ObjectRef;
}

/** A labelled frame whose verdict differs between the two sides. */
export interface ReviewedChange {
  frameId: string;
  lineId: string;
  cameraId: string;
  /** The frame's current label. */
  label: FeedbackLabel;
  baseline: ReviewedSide;
  candidate: ReviewedSide;
  /** `fixed`: the candidate now agrees with the label; `broken`: the baseline did and the candidate no longer does. */
  effect: 'fixed' | 'broken';
}

/** What else the reviewed-frames section says: the feedback read, the labelled frames not compared, and the changed ones. */
export interface ReviewedDetail {
  feedbackTopic: string;
  /** Valid feedback records read, and invalid ones skipped. */
  messages: number;
  invalid: number;
  /** Frames with a current label. */
  labelled: number;
  /** Labelled frames the candidate did not decide (outside the replay), and frames without a baseline verdict. */
  withoutCandidate: number;
  withoutBaseline: number;
  changedCount: { fixed: number; broken: number };
  /** Broken first, then largest |score delta|; at most `changedListLimit`. */
  changed: ReviewedChange[];
  changedListLimit: number;
}

export interface ReplayReport {
  generatedAt: string;
  streams: { candidate: VerdictStreamFigures; baseline: VerdictStreamFigures; frames: StreamFigures };
  overall: ComparisonFigures & {
    /** Flipped frame ids, largest |score delta| first, at most `flipListLimit` each. */
    flipFrameIds: { okToDefect: string[]; defectToOk: string[] };
    flipListLimit: number;
    /** candidate − baseline `normalizedScore` (0.5 = each model's threshold), comparable across versions. */
    normalizedScoreDelta: DistributionSummary | null;
    scoreDeltaHistogram: HistogramBin[];
    /** Compared frames (candidate or baseline) with no event on the frames topic. */
    framesWithoutEvent: number;
  };
  byLine: GroupFigures[];
  /** Keyed `lineId:cameraId`: camera ids repeat across lines. */
  byCamera: GroupFigures[];
  byDefectCode: GroupFigures[];
  byFabricCode: GroupFigures[];
  /** With `--feedback-topic`: the labelled frames both sides decided. */
  reviewed?: ReviewedFigures;
  /** With `--feedback-topic`: the rest of the reviewed-frames section. */
  reviewedFrames?: ReviewedDetail;
}
