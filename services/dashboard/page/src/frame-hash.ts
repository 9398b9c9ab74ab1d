import type { VerdictView } from '../../src/view.js';

/** The hash of a frame's view; `decidedAt` lets a reload (or a bar of the sparkline) find a verdict the page no longer holds. */
export function frameHash(verdict: Pick<VerdictView, 'lineId' | 'cameraId' | 'frameId' | 'decidedAt'>): string {
  return `#/frame/${[verdict.lineId, verdict.cameraId, verdict.frameId, String(Date.parse(verdict.decidedAt))].map(encodeURIComponent).join('/')}`;
}
