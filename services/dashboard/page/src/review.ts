import { html, nothing } from 'lit';
import type { Feedback, FeedbackLabel, ReviewQueue, ReviewRegion } from '@loomwatch/contracts';
import { formatDateTime } from './styles.js';

/** The keys of the review mode, and what each answers. */
export const LABEL_KEYS: Readonly<Record<string, FeedbackLabel>> = { d: 'defect-confirmed', f: 'false-alarm', o: 'ok-confirmed', m: 'missed-defect' };

export const LABEL_TEXT: Readonly<Record<FeedbackLabel, string>> = {
  'defect-confirmed': 'defect confirmed',
  'false-alarm': 'false alarm',
  'ok-confirmed': 'ok confirmed',
  'missed-defect': 'missed defect',
};

/** The body of `POST /api/feedback`. */
export interface FeedbackAnswer {
  feedbackId: string;
  frameId: string;
  lineId: string;
  cameraId: string;
  capturedAt: string;
  label: FeedbackLabel;
  regions?: ReviewRegion[];
  defectCode?: string;
  note?: string;
  queue: ReviewQueue;
}

/** A drag on a picture shown at `shown` (CSS px) of a frame of `natural` pixels, as a region in frame pixels; undefined when too small to mean anything. */
export function regionOfDrag(
  from: { x: number; y: number },
  to: { x: number; y: number },
  shown: { width: number; height: number },
  natural: { width: number; height: number },
): ReviewRegion | undefined {
  const sx = natural.width / shown.width;
  const sy = natural.height / shown.height;
  const clamp = (v: number, max: number) => Math.min(max, Math.max(0, v));
  const x0 = Math.round(clamp(Math.min(from.x, to.x), shown.width) * sx);
  const y0 = Math.round(clamp(Math.min(from.y, to.y), shown.height) * sy);
  const x1 = Math.round(clamp(Math.max(from.x, to.x), shown.width) * sx);
  const y1 = Math.round(clamp(Math.max(from.y, to.y), shown.height) * sy);
  if (x1 - x0 < 2 || y1 - y0 < 2) return undefined;
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** Who said what of the frame, and when: every revision, oldest first. */
export function reviewsTable(reviews: readonly Feedback[]) {
  if (reviews.length === 0) return html`<p class="muted" data-testid="no-reviews">Not reviewed yet.</p>`;
  return html`<table data-testid="reviews">
    <thead><tr><th scope="col">rev</th><th scope="col">said</th><th scope="col">by</th><th scope="col">when</th><th scope="col">code · note</th></tr></thead>
    <tbody>
      ${reviews.map(
        (r) => html`<tr data-feedback-id=${r.feedbackId}>
          <td class="num">${r.revision}</td>
          <td class=${r.label === 'defect-confirmed' || r.label === 'missed-defect' ? 'defect' : 'ok'} data-testid="review-label">${LABEL_TEXT[r.label]}${r.regions.length === 0 ? nothing : html` <span class="muted">(${r.regions.length} region${r.regions.length === 1 ? '' : 's'})</span>`}</td>
          <td data-testid="reviewer">${r.reviewer.name}</td>
          <td>${formatDateTime(r.reviewedAt)}<br /><span class="muted">${r.queue}</span></td>
          <td>${r.defectCode ?? ''}${r.defectCode !== undefined && r.note !== undefined ? ' · ' : ''}${r.note ?? ''}</td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}

/** The key hints of the review mode. */
export const KEY_HINTS = html`<p class="muted keys" data-testid="review-keys">
  <kbd>d</kbd> defect confirmed · <kbd>f</kbd> false alarm · <kbd>o</kbd> ok confirmed · <kbd>m</kbd> missed defect (drag on the frame, <kbd>Enter</kbd> sends, <kbd>Esc</kbd> cancels) ·
  <kbd>c</kbd> defect code · <kbd>n</kbd> note · <kbd>j</kbd>/<kbd>Space</kbd> next frame
</p>`;
