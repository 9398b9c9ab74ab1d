/**
 * The report's chart as a hand-written SVG: the score-delta histogram beside a scatter of
 * baseline vs candidate score. Plain strings keep the report free of a chart dependency.
 */
import type { HistogramBin, JoinedFrame } from './report-model.js';

/** @defaultValue 4000 points in the scatter; more make a slow, heavy SVG and say nothing new. */
const SCATTER_POINT_LIMIT = 4000;

const PANEL = { width: 420, height: 320, left: 50, right: 15, top: 35, bottom: 45 };
const PLOT_WIDTH = PANEL.width - PANEL.left - PANEL.right;
const PLOT_HEIGHT = PANEL.height - PANEL.top - PANEL.bottom;

const COLOURS = { agree: '#6b7280', okToDefect: '#dc2626', defectToOk: '#2563eb', bar: '#4b5563' } as const;

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

const fmt = (value: number): string => (Math.round(value * 100) / 100).toString();

function text(x: number, y: number, content: string, attributes = ''): string {
  return `<text x="${fmt(x)}" y="${fmt(y)}" ${attributes}>${escapeXml(content)}</text>`;
}

function frame(offsetX: number, title: string, xLabel: string, yLabel: string): string[] {
  const x0 = offsetX + PANEL.left;
  return [
    text(offsetX + PANEL.width / 2, 20, title, 'text-anchor="middle" font-weight="bold"'),
    `<rect x="${x0}" y="${PANEL.top}" width="${PLOT_WIDTH}" height="${PLOT_HEIGHT}" fill="none" stroke="#9ca3af"/>`,
    text(x0 + PLOT_WIDTH / 2, PANEL.height - 8, xLabel, 'text-anchor="middle"'),
    text(offsetX + 14, PANEL.top + PLOT_HEIGHT / 2, yLabel, `text-anchor="middle" transform="rotate(-90 ${offsetX + 14} ${PANEL.top + PLOT_HEIGHT / 2})"`),
  ];
}

/** The histogram panel: one bar per bin, the x axis labelled at its ends and at 0. */
function histogramPanel(bins: readonly HistogramBin[], offsetX = 0): string[] {
  const parts = frame(offsetX, 'Score delta (candidate − baseline)', 'score delta', 'frames');
  const x0 = offsetX + PANEL.left;
  const bottom = PANEL.top + PLOT_HEIGHT;
  if (bins.length === 0) return [...parts, text(x0 + PLOT_WIDTH / 2, PANEL.top + PLOT_HEIGHT / 2, 'no joined frames', 'text-anchor="middle"')];
  const tallest = Math.max(...bins.map((bin) => bin.count));
  const barWidth = PLOT_WIDTH / bins.length;
  bins.forEach((bin, i) => {
    const height = tallest === 0 ? 0 : (bin.count / tallest) * PLOT_HEIGHT;
    parts.push(
      `<rect class="bar" x="${fmt(x0 + i * barWidth + 1)}" y="${fmt(bottom - height)}" width="${fmt(Math.max(barWidth - 2, 1))}" height="${fmt(height)}" fill="${COLOURS.bar}"><title>${escapeXml(`[${fmt4(bin.from)}, ${fmt4(bin.to)}): ${bin.count}`)}</title></rect>`,
    );
  });
  const first = bins[0] as HistogramBin;
  const last = bins[bins.length - 1] as HistogramBin;
  parts.push(text(x0, bottom + 15, fmt4(first.from), 'text-anchor="start"'));
  parts.push(text(x0 + PLOT_WIDTH, bottom + 15, fmt4(last.to), 'text-anchor="end"'));
  if (first.from < 0 && last.to > 0) {
    const zeroX = x0 + (-first.from / (last.to - first.from)) * PLOT_WIDTH;
    parts.push(`<line x1="${fmt(zeroX)}" y1="${PANEL.top}" x2="${fmt(zeroX)}" y2="${bottom}" stroke="#111827" stroke-dasharray="3 3"/>`);
    parts.push(text(zeroX, bottom + 15, '0', 'text-anchor="middle"'));
  }
  parts.push(text(x0 - 4, PANEL.top + 10, String(tallest), 'text-anchor="end"'));
  return parts;
}

/** Every k-th frame (frameId order) so that at most `limit` remain; deterministic, unlike a random sample. */
export function thinOut<T>(items: readonly T[], limit: number): T[] {
  if (items.length <= limit) return [...items];
  const stride = items.length / limit;
  return Array.from({ length: limit }, (_, i) => items[Math.floor(i * stride)] as T);
}

function colourOf(frame: JoinedFrame): string {
  if (frame.baseline.verdict === frame.candidate.verdict) return COLOURS.agree;
  return frame.baseline.verdict === 'ok' ? COLOURS.okToDefect : COLOURS.defectToOk;
}

/** The scatter panel: baseline score across, candidate score up, the diagonal where they agree. */
export function scatterPanel(joined: readonly JoinedFrame[], offsetX = 0, limit = SCATTER_POINT_LIMIT): string[] {
  const shown = thinOut(joined, limit);
  const title = shown.length < joined.length ? `Baseline vs candidate score (${shown.length} of ${joined.length})` : 'Baseline vs candidate score';
  const parts = frame(offsetX, title, 'baseline score', 'candidate score');
  const x0 = offsetX + PANEL.left;
  const bottom = PANEL.top + PLOT_HEIGHT;
  parts.push(`<line x1="${x0}" y1="${bottom}" x2="${x0 + PLOT_WIDTH}" y2="${PANEL.top}" stroke="#d1d5db"/>`);
  for (const point of shown) {
    const cx = x0 + point.baseline.score * PLOT_WIDTH;
    const cy = bottom - point.candidate.score * PLOT_HEIGHT;
    parts.push(`<circle class="point" cx="${fmt(cx)}" cy="${fmt(cy)}" r="2.5" fill="${colourOf(point)}" fill-opacity="0.7"/>`);
  }
  parts.push(text(x0, bottom + 15, '0', 'text-anchor="middle"'), text(x0 + PLOT_WIDTH, bottom + 15, '1', 'text-anchor="middle"'));
  parts.push(text(x0 - 4, bottom, '0', 'text-anchor="end"'), text(x0 - 4, PANEL.top + 8, '1', 'text-anchor="end"'));
  const legend: [string, string][] = [
    [COLOURS.agree, 'same verdict'],
    [COLOURS.okToDefect, 'ok → defect'],
    [COLOURS.defectToOk, 'defect → ok'],
  ];
  legend.forEach(([colour, label], i) => {
    const y = PANEL.top + 14 + i * 14;
    parts.push(`<circle cx="${x0 + 10}" cy="${y - 4}" r="4" fill="${colour}"/>`, text(x0 + 18, y, label));
  });
  return parts;
}

function fmt4(value: number): string {
  return (Math.round(value * 10_000) / 10_000).toString();
}

export function renderChart(bins: readonly HistogramBin[], joined: readonly JoinedFrame[]): string {
  const width = PANEL.width * 2;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${PANEL.height}" viewBox="0 0 ${width} ${PANEL.height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${PANEL.height}" fill="white"/>`,
    ...histogramPanel(bins, 0),
    ...scatterPanel(joined, PANEL.width),
    '</svg>',
    '',
  ].join('\n');
}
