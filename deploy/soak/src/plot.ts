/**
 * The soak's picture: throughput and p50/p99 frame-to-verdict latency over time, with the faults
 * marked — an SVG drawn here, rendered to PNG by sharp (librsvg).
 */
import sharp from 'sharp';
import type { WindowStats } from './counts.js';

export interface FaultMark {
  at: number;
  /** For an outage: how long it lasted, in seconds. */
  seconds?: number;
  label: string;
  /** The mark's colour. @defaultValue by label: light red for a SIGKILL, purple otherwise */
  color?: string;
}

const SOAK_LEGEND = '<tspan fill="#c0392b">| worker SIGKILL</tspan>  <tspan fill="#8e44ad">| broker restart</tspan>  <tspan fill="#d68910">▮ S3 down</tspan>';

const W = 1200;
const PANEL = 260;
const LEFT = 70;
const RIGHT = 20;
const TOP = 40;
const GAP = 60;

function path(points: readonly [number, number][]): string {
  return points
    .filter(([, y]) => Number.isFinite(y))
    .map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`)
    .join(' ');
}

function axis(top: number, max: number, label: string, span: number): string {
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const y = top + PANEL - f * PANEL;
    return `<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y}" y2="${y}" stroke="#ddd"/><text x="${LEFT - 6}" y="${y + 4}" text-anchor="end" font-size="11">${(f * max).toFixed(max < 10 ? 1 : 0)}</text>`;
  });
  const xTicks = Array.from({ length: 7 }, (_, i) => {
    const t = (span * i) / 6;
    const x = LEFT + ((W - LEFT - RIGHT) * i) / 6;
    return `<text x="${x}" y="${top + PANEL + 16}" text-anchor="middle" font-size="11">${Math.round(t)} s</text>`;
  });
  return `${ticks.join('')}${xTicks.join('')}<text x="16" y="${top + PANEL / 2}" font-size="12" transform="rotate(-90 16 ${top + PANEL / 2})" text-anchor="middle">${label}</text>`;
}

/** `legend`: SVG tspans naming the marks, after p50 and p99 (the soak's faults by default). */
export async function renderSoakPlot(windows: readonly WindowStats[], faults: readonly FaultMark[], title: string, file: string, legend = SOAK_LEGEND): Promise<void> {
  const span = Math.max(1, ...windows.map((w) => w.at), ...faults.map((f) => f.at + (f.seconds ?? 0)));
  const x = (t: number): number => LEFT + ((W - LEFT - RIGHT) * t) / span;
  const maxRate = Math.max(0.1, ...windows.map((w) => w.framesPerSecond)) * 1.1;
  const maxLatency = Math.max(0.1, ...windows.map((w) => (Number.isFinite(w.p99Ms) ? w.p99Ms / 1000 : 0))) * 1.1;
  const top2 = TOP + PANEL + GAP;
  const yRate = (v: number): number => TOP + PANEL - (v / maxRate) * PANEL;
  const yLat = (v: number): number => top2 + PANEL - (v / 1000 / maxLatency) * PANEL;
  const marks = faults
    .map((fault) =>
      fault.seconds === undefined
        ? `<line x1="${x(fault.at)}" x2="${x(fault.at)}" y1="${TOP}" y2="${top2 + PANEL}" stroke="${fault.color ?? (fault.label === 'worker SIGKILL' ? '#f4a6a6' : '#8e44ad')}" stroke-width="${fault.label === 'worker SIGKILL' ? 1 : 2}"/>`
        : `<rect x="${x(fault.at)}" y="${TOP}" width="${x(fault.at + fault.seconds) - x(fault.at)}" height="${top2 + PANEL - TOP}" fill="#f39c12" opacity="0.2"/>`,
    )
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${top2 + PANEL + 60}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${LEFT}" y="24" font-size="15" font-weight="bold">${title}</text>
${marks}
${axis(TOP, maxRate, 'verdicts / s', span)}
${axis(top2, maxLatency, 'frame → verdict (s)', span)}
<path d="${path(windows.map((w) => [x(w.at), yRate(w.framesPerSecond)]))}" fill="none" stroke="#2c7fb8" stroke-width="2"/>
<path d="${path(windows.map((w) => [x(w.at), yLat(w.p50Ms)]))}" fill="none" stroke="#2ca25f" stroke-width="2"/>
<path d="${path(windows.map((w) => [x(w.at), yLat(w.p99Ms)]))}" fill="none" stroke="#de2d26" stroke-width="2"/>
<text x="${W - RIGHT}" y="${top2 + 16}" font-size="12" text-anchor="end"><tspan fill="#2ca25f">— p50</tspan>  <tspan fill="#de2d26">— p99</tspan>  ${legend}</text>
</svg>`;
  await sharp(Buffer.from(svg)).png().toFile(file);
}
