/**
 * The readable report as a list of format-neutral blocks (headings, tables, the chart), so the
 * Markdown and the HTML renderings say the same thing. Rendering is in report-render.ts.
 */
import type { ObjectRef } from '@loomwatch/contracts';
import type { ComparisonFigures, DistributionSummary, GroupFigures, ReplayReport, ReviewedCount, ReviewedDetail, ReviewedFigures, VerdictStreamFigures } from './report-model.js';

export type Block =
  | { kind: 'heading'; level: 1 | 2; text: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'list'; items: string[] }
  /** `links`: where each row's first cell links to (absent or undefined: no link). */
  | { kind: 'table'; header: string[]; rows: string[][]; links?: (string | undefined)[] }
  | { kind: 'image'; alt: string; src: string };

const percent = (rate: number | null): string => (rate === null ? '–' : `${(rate * 100).toFixed(1)} %`);
/** Four decimals with a sign; a float residue like −1e−17 reads +0.0000, not −0.0000. */
function signed(value: number): string {
  const rounded = Number(value.toFixed(4)) || 0;
  return `${rounded >= 0 ? '+' : ''}${rounded.toFixed(4)}`;
}

function summaryCells(summary: DistributionSummary | null): string[] {
  if (summary === null) return ['–', '–', '–', '–', '–', '–'];
  return [summary.mean, summary.median, summary.p5, summary.p95, summary.min, summary.max].map(signed);
}

/** The figures everyone asks first, one line each; printed by the CLI and heading the report. */
export function headline(report: ReplayReport): string[] {
  const { overall, streams } = report;
  const delta = overall.scoreDelta;
  return [
    `frames: ${streams.candidate.frames} candidate, ${streams.baseline.frames} baseline, ${overall.joined} joined, ${overall.onlyCandidate} only candidate, ${overall.onlyBaseline} only baseline`,
    `agreement: ${percent(overall.agreementRate)} (${overall.agreed} of ${overall.joined})`,
    `flips: ${overall.flips.okToDefect} ok→defect, ${overall.flips.defectToOk} defect→ok`,
    delta === null
      ? 'score delta: no joined frames'
      : `score delta (candidate − baseline): mean ${signed(delta.mean)}, median ${signed(delta.median)}, p5 ${signed(delta.p5)}, p95 ${signed(delta.p95)}`,
    `models: candidate ${countList(streams.candidate.models)}; baseline ${countList(streams.baseline.models)}`,
    `false-alarm rates: candidate ${countList(streams.candidate.falseAlarmRates)}; baseline ${countList(streams.baseline.falseAlarmRates)}`,
    ...(report.reviewed === undefined ? [] : [reviewedHeadline(report.reviewed)]),
  ];
}

function reviewedHeadline(reviewed: ReviewedFigures): string {
  const kind = (name: string, count: ReviewedCount): string => `${name} ${count.reviewed} (flagged: baseline ${count.parentFlagged}, candidate ${count.candidateFlagged})`;
  return `reviewed: ${reviewed.frames} frames decided by both; ${kind('normals', reviewed.normals)}; ${kind('defects', reviewed.defects)}`;
}

const share = (part: number, whole: number): string => (whole === 0 ? '–' : percent(part / whole));

/**
 * Where the report links an object (a verdict's overlay): `<objectUrl><bucket>/<key>`.
 * @defaultValue '/api/objects/' — the dashboard's object proxy, which serves the reports a retrainer stores
 */
export const DEFAULT_OBJECT_URL = '/api/objects/';

export interface DocumentOptions {
  /** @defaultValue DEFAULT_OBJECT_URL */
  objectUrl?: string;
}

function objectLink(objectUrl: string, ref: ObjectRef | undefined): string | undefined {
  return ref === undefined ? undefined : `${objectUrl}${encodeURIComponent(ref.bucket)}/${ref.key.split('/').map(encodeURIComponent).join('/')}`;
}

/** The reviewed-frames section: counts by what the reviewers said, then the reviewed frames whose verdict changed. */
function reviewedSection(reviewed: ReviewedFigures, detail: ReviewedDetail, objectUrl: string): Block[] {
  const row = (name: string, count: ReviewedCount): string[] => [
    name,
    String(count.reviewed),
    String(count.parentFlagged),
    share(count.parentFlagged, count.reviewed),
    String(count.candidateFlagged),
    share(count.candidateFlagged, count.reviewed),
  ];
  const changedTotal = detail.changedCount.fixed + detail.changedCount.broken;
  const listed = changedTotal > detail.changed.length ? ` The ${detail.changed.length} listed are the first of ${changedTotal} (report.json lists as many).` : '';
  return [
    { kind: 'heading', level: 2, text: 'Reviewed frames' },
    {
      kind: 'paragraph',
      text:
        `Frames people labelled on ${detail.feedbackTopic} (${detail.labelled} frames from ${detail.messages} reviews, each frame by its latest revision), compared where both sides decided them: ` +
        `${reviewed.frames} frames. ${detail.withoutCandidate} labelled frame(s) have no candidate verdict and ${detail.withoutBaseline} no baseline verdict. ` +
        'Normals are labelled false-alarm or ok-confirmed (a flag is a false alarm); defects defect-confirmed or missed-defect (a flag is a catch).',
    },
    {
      kind: 'table',
      header: ['label', 'reviewed', 'baseline flagged', 'baseline share', 'candidate flagged', 'candidate share'],
      rows: [row('normals', reviewed.normals), row('defects', reviewed.defects)],
    },
    {
      kind: 'paragraph',
      text:
        `Changed verdicts on reviewed frames: ${detail.changedCount.fixed} fixed (the candidate now agrees with the label), ${detail.changedCount.broken} broken (it no longer does).${listed}` +
        (detail.changed.length === 0 ? '' : ` Each frame links to the candidate's overlay under ${objectUrl}.`),
    },
    ...changedTable(detail, objectUrl),
  ];
}

/** The changed reviewed frames; each frame id links to the candidate's overlay (where the frame is marked). */
function changedTable(detail: ReviewedDetail, objectUrl: string): Block[] {
  if (detail.changed.length === 0) return [];
  return [
    {
      kind: 'table',
      header: ['frame', 'line:camera', 'label', 'effect', 'baseline', 'baseline score', 'candidate', 'candidate score'],
      rows: detail.changed.map((change) => [
        change.frameId,
        `${change.lineId}:${change.cameraId}`,
        change.label,
        change.effect,
        change.baseline.verdict,
        change.baseline.score.toFixed(4),
        change.candidate.verdict,
        change.candidate.score.toFixed(4),
      ]),
      links: detail.changed.map((change) => objectLink(objectUrl, change.candidate.overlay)),
    },
  ];
}

function countList(counts: Record<string, number>): string {
  const entries = Object.entries(counts);
  return entries.length === 0 ? 'none' : entries.map(([value, frames]) => `${value} (${frames})`).join(', ');
}

const GROUP_HEADER = [
  'joined',
  'only candidate',
  'only baseline',
  'agreement',
  'ok→defect',
  'defect→ok',
  'defect rate baseline',
  'defect rate candidate',
  'mean Δ score',
  'median Δ score',
];

function groupCells(figures: ComparisonFigures): string[] {
  return [
    String(figures.joined),
    String(figures.onlyCandidate),
    String(figures.onlyBaseline),
    percent(figures.agreementRate),
    String(figures.flips.okToDefect),
    String(figures.flips.defectToOk),
    percent(figures.defectRate.baseline),
    percent(figures.defectRate.candidate),
    figures.scoreDelta === null ? '–' : signed(figures.scoreDelta.mean),
    figures.scoreDelta === null ? '–' : signed(figures.scoreDelta.median),
  ];
}

function groupSection(title: string, keyName: string, groups: readonly GroupFigures[], note?: string): Block[] {
  return [
    { kind: 'heading', level: 2, text: title },
    ...(note === undefined ? [] : [{ kind: 'paragraph', text: note } as const]),
    { kind: 'table', header: [keyName, ...GROUP_HEADER], rows: groups.map((group) => [group.key, ...groupCells(group)]) },
  ];
}

function streamRow(name: string, stream: VerdictStreamFigures): string[] {
  return [name, stream.topic, String(stream.messages), String(stream.frames), String(stream.superseded), String(stream.invalid), countList(stream.models)];
}

function flipList(ids: readonly string[], total: number): string {
  if (total === 0) return 'none';
  const more = total > ids.length ? ` … and ${total - ids.length} more (report.json lists ${ids.length})` : '';
  return `${ids.join(', ')}${more}`;
}

export function reportDocument(report: ReplayReport, chartFile: string, options: DocumentOptions = {}): Block[] {
  const objectUrl = options.objectUrl ?? DEFAULT_OBJECT_URL;
  const { overall, streams } = report;
  return [
    { kind: 'heading', level: 1, text: `Replay report: ${streams.candidate.topic} vs ${streams.baseline.topic}` },
    {
      kind: 'paragraph',
      text: `Generated ${report.generatedAt}. Candidate: ${streams.candidate.topic}; baseline: ${streams.baseline.topic}; frame facts from ${streams.frames.topic}. Each frame's latest verdict on each side is compared; score delta = candidate − baseline.`,
    },
    { kind: 'list', items: headline(report) },
    { kind: 'heading', level: 2, text: 'Streams' },
    {
      kind: 'table',
      header: ['stream', 'topic', 'messages', 'frames', 'superseded', 'invalid', 'models (frames)'],
      rows: [
        streamRow('candidate', streams.candidate),
        streamRow('baseline', streams.baseline),
        ['frames', streams.frames.topic, String(streams.frames.messages), String(streams.frames.frames), String(streams.frames.superseded), String(streams.frames.invalid), '–'],
      ],
    },
    {
      kind: 'paragraph',
      text: `Each topic is read whole. Superseded: messages of a frame that has a later one on the same topic (a replay run again into its topic, a frame published or decided again); only the latest is compared. Only baseline: frames the candidate did not decide (a replay of part of ${streams.frames.topic}, a shadow started later); only candidate: frames without a baseline verdict (dead-lettered there, or published after it stopped).`,
    },
    {
      kind: 'paragraph',
      text: `${overall.framesWithoutEvent} compared frame(s) have no event on ${streams.frames.topic}; their defect and fabric codes are 'unknown'.`,
    },
    { kind: 'heading', level: 2, text: 'Score deltas' },
    { kind: 'image', alt: 'Score-delta histogram and baseline vs candidate scatter', src: chartFile },
    {
      kind: 'table',
      header: ['delta', 'mean', 'median', 'p5', 'p95', 'min', 'max'],
      rows: [
        ['score', ...summaryCells(overall.scoreDelta)],
        ['normalised score (0.5 = threshold)', ...summaryCells(overall.normalizedScoreDelta)],
      ],
    },
    {
      kind: 'table',
      header: ['score delta from', 'to', 'frames'],
      rows: overall.scoreDeltaHistogram.map((bin) => [signed(bin.from), signed(bin.to), String(bin.count)]),
    },
    { kind: 'heading', level: 2, text: 'Flips' },
    {
      kind: 'list',
      items: [
        `ok→defect (${overall.flips.okToDefect}): ${flipList(overall.flipFrameIds.okToDefect, overall.flips.okToDefect)}`,
        `defect→ok (${overall.flips.defectToOk}): ${flipList(overall.flipFrameIds.defectToOk, overall.flips.defectToOk)}`,
      ],
    },
    { kind: 'paragraph', text: 'Largest |score delta| first.' },
    ...(report.reviewed === undefined || report.reviewedFrames === undefined ? [] : reviewedSection(report.reviewed, report.reviewedFrames, objectUrl)),
    ...groupSection('By line', 'line', report.byLine),
    ...groupSection('By camera', 'line:camera', report.byCamera),
    ...groupSection(
      'By defect code',
      'defect code',
      report.byDefectCode,
      "From the frames' aitexDefectCode attribute: on '000' (normal frames) the defect rate is the false-alarm rate, on the other codes the detection rate.",
    ),
    ...groupSection('By fabric code', 'fabric code', report.byFabricCode),
  ];
}
