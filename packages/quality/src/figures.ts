/**
 * Production quality per group of frames, from the frames' current labels and the verdict counts:
 *
 * - **precision** of defect verdicts: reviewed flagged frames the reviewer confirmed, over all
 *   reviewed flagged frames;
 * - **miss rate**: `sample`-queue ok frames the reviewer found a defect on, over all sampled ok
 *   frames — only the random sample estimates it, because the other ok frames in front of a
 *   reviewer were chosen (near the threshold, or browsed to) and miss more, or less, than the rest;
 * - **review coverage**: reviewed frames over decided frames.
 *
 * A group is any subset of line, camera, fabric and model version; the empty subset is everything.
 */
import { labelIsDefect, type ModelRef, type VerdictKind } from '@loomwatch/contracts';
import { clopperPearson, type Proportion } from './interval.js';
import type { FrameLabel } from './labels.js';

export const DIMENSIONS = ['line', 'camera', 'fabric', 'model'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

/** What a frame or a verdict count is grouped by. */
export interface Attributes {
  lineId: string;
  cameraId: string;
  /** Absent when the camera sent no fabric. */
  fabricCode?: string;
  model: Pick<ModelRef, 'name' | 'version'>;
}

/** A group's values for the dimensions it is grouped by; the others are absent (rolled up). */
export interface Group {
  lineId?: string;
  cameraId?: string;
  /** `''` for frames without a fabric. */
  fabricCode?: string;
  model?: Pick<ModelRef, 'name' | 'version'>;
}

/** How many verdicts of a kind were decided for some attributes (the reviews' denominators). */
export interface VerdictCount extends Attributes {
  verdict: VerdictKind;
  count: number;
}

/** The counts behind every figure of a group. */
export interface QualityCounts {
  /** Verdicts decided, by kind. */
  decided: { ok: number; defect: number };
  /** Flagged frames reviewed: confirmed as defects, or false alarms. */
  flagged: { reviewed: number; confirmed: number; falseAlarms: number };
  /** Ok frames reviewed (any queue), and those of the random sample with the misses among them. */
  ok: { reviewed: number; sampled: number; missedInSample: number };
}

export interface GroupQuality {
  group: Group;
  /** The group's identity, stable across calls: `line=…|camera=…|fabric=…|model=name@version` for its dimensions. */
  key: string;
  counts: QualityCounts;
  /** Confirmed / reviewed flagged; absent without a reviewed flagged frame. */
  precision?: Proportion;
  /** Missed / sampled ok; absent without a sampled ok frame. */
  missRate?: Proportion;
  /** Reviewed / decided (both kinds); absent without a decided verdict. Can pass 1 when reviews outlive the counts. */
  coverage?: number;
}

function groupOf(attributes: Attributes, by: readonly Dimension[]): Group {
  return {
    ...(by.includes('line') ? { lineId: attributes.lineId } : {}),
    ...(by.includes('camera') ? { cameraId: attributes.cameraId } : {}),
    ...(by.includes('fabric') ? { fabricCode: attributes.fabricCode ?? '' } : {}),
    ...(by.includes('model') ? { model: { name: attributes.model.name, version: attributes.model.version } } : {}),
  };
}

/** The key of the group `attributes` fall in when grouped by `by`. */
export function groupKey(attributes: Attributes, by: readonly Dimension[]): string {
  const group = groupOf(attributes, by);
  const parts: string[] = [];
  if (group.lineId !== undefined) parts.push(`line=${group.lineId}`);
  if (group.cameraId !== undefined) parts.push(`camera=${group.cameraId}`);
  if (group.fabricCode !== undefined) parts.push(`fabric=${group.fabricCode}`);
  if (group.model !== undefined) parts.push(`model=${group.model.name}@${group.model.version}`);
  return parts.join('|');
}

function emptyCounts(): QualityCounts {
  return { decided: { ok: 0, defect: 0 }, flagged: { reviewed: 0, confirmed: 0, falseAlarms: 0 }, ok: { reviewed: 0, sampled: 0, missedInSample: 0 } };
}

/** The counts of one frame's label, added to `counts`. */
export function countLabel(counts: QualityCounts, label: FrameLabel): void {
  const defect = labelIsDefect(label.label);
  if (label.verdict === 'defect') {
    counts.flagged.reviewed++;
    if (defect) counts.flagged.confirmed++;
    else counts.flagged.falseAlarms++;
    return;
  }
  counts.ok.reviewed++;
  if (label.sampled) {
    counts.ok.sampled++;
    if (defect) counts.ok.missedInSample++;
  }
}

/** The figures of a group from its counts. */
export function figuresOf(counts: QualityCounts, level = 0.95): Pick<GroupQuality, 'precision' | 'missRate' | 'coverage'> {
  const precision = clopperPearson(counts.flagged.confirmed, counts.flagged.reviewed, level);
  const missRate = clopperPearson(counts.ok.missedInSample, counts.ok.sampled, level);
  const decided = counts.decided.ok + counts.decided.defect;
  return {
    ...(precision === undefined ? {} : { precision }),
    ...(missRate === undefined ? {} : { missRate }),
    ...(decided === 0 ? {} : { coverage: (counts.flagged.reviewed + counts.ok.reviewed) / decided }),
  };
}

export interface QualityOptions {
  /** The dimensions to group by; `[]` rolls everything into one group. @defaultValue every dimension */
  by?: readonly Dimension[];
  /** The intervals' confidence level. @defaultValue 0.95 */
  level?: number;
}

/**
 * The quality figures of every group that has a label or a decided verdict, sorted by key. The
 * caller chooses which labels and counts go in (a time window, one line); each label is one frame.
 */
export function qualityByGroup(labels: Iterable<FrameLabel>, verdicts: Iterable<VerdictCount>, options: QualityOptions = {}): GroupQuality[] {
  const by = options.by ?? DIMENSIONS;
  const groups = new Map<string, { group: Group; counts: QualityCounts }>();
  const entry = (attributes: Attributes): QualityCounts => {
    const key = groupKey(attributes, by);
    let found = groups.get(key);
    if (found === undefined) {
      found = { group: groupOf(attributes, by), counts: emptyCounts() };
      groups.set(key, found);
    }
    return found.counts;
  };
  for (const label of labels) countLabel(entry(label), label);
  for (const count of verdicts) entry(count).decided[count.verdict] += count.count;
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, { group, counts }]) => ({ group, key, counts, ...figuresOf(counts, options.level) }));
}
