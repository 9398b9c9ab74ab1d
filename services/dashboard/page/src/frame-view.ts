import { LitElement, css, html, nothing, svg } from 'lit';
import type { Feedback, FeedbackLabel, FrameEvent, Region, ReviewQueue, ReviewRegion } from '@loomwatch/contracts';
import { objectPath } from '../../src/object-path.js';
import { calibrationOf, describeCalibration, type VerdictView } from '../../src/view.js';
import { getJson, postJson, type Me } from './api.js';
import { KEY_HINTS, LABEL_KEYS, LABEL_TEXT, regionOfDrag, reviewsTable, type FeedbackAnswer } from './review.js';
import { base, formatDateTime } from './styles.js';

const BROWSER_IMAGES = new Set(['png', 'jpeg', 'webp']);

/** Which labels answer a verdict. */
const LABELS_OF: Readonly<Record<VerdictView['verdict'], readonly FeedbackLabel[]>> = { defect: ['defect-confirmed', 'false-alarm'], ok: ['ok-confirmed', 'missed-defect'] };

/**
 * One frame: the frame, its anomaly map and its overlay side by side with the regions outlined; the
 * regions, score, model and timings; who reviewed it. For an operator, the review mode: one key per
 * answer (`POST /api/feedback`), then the next frame of the queue.
 */
export class FrameView extends LitElement {
  static override properties = {
    verdict: { attribute: false },
    frameId: { type: String },
    reviewer: { attribute: false },
    queue: { type: String },
    frame: { state: true },
    frameError: { state: true },
    size: { state: true },
    reviews: { state: true },
    marking: { state: true },
    draft: { state: true },
    defectCode: { state: true },
    note: { state: true },
    reviewStatus: { state: true },
  };
  declare verdict: VerdictView | undefined;
  declare frameId: string;
  /** The signed-in operator or engineer; undefined for a viewer (no review mode). */
  declare reviewer: Me | undefined;
  /** Why the frame is in front of the reviewer. */
  declare queue: ReviewQueue;
  declare frame: FrameEvent | undefined;
  declare frameError: string | undefined;
  /** The overlay's pixel size once loaded: the regions' coordinate space. */
  declare size: { width: number; height: number } | undefined;
  declare reviews: Feedback[];
  /** Marking a missed defect: drags on the frame add regions, Enter sends. */
  declare marking: boolean;
  declare draft: ReviewRegion[];
  declare defectCode: string;
  declare note: string;
  declare reviewStatus: { ok: boolean; text: string } | undefined;
  private loadedFor: string | undefined;
  private abort: AbortController | undefined;
  /** The idempotency key of the answer being sent: a retry after a failure sends the same one. */
  private answerId: string | undefined;
  private sending = false;
  private drag: { from: { x: number; y: number }; to: { x: number; y: number } } | undefined;

  constructor() {
    super();
    this.frameId = '';
    this.reviewer = undefined;
    this.queue = 'browsing';
    this.reviews = [];
    this.marking = false;
    this.draft = [];
    this.defectCode = '';
    this.note = '';
    this.reviewStatus = undefined;
  }

  static override styles = [
    base,
    css`
      :host { display: block; }
      .images { display: grid; grid-template-columns: repeat(auto-fit, minmax(280px, 1fr)); gap: 0.75rem; }
      /* Line-scan frames are many times wider than high: one under the other, each the full width. */
      .images.wide { grid-template-columns: minmax(0, 1fr); }
      figure { margin: 0; }
      figcaption { color: var(--muted); font-size: 0.85rem; margin-top: 0.25rem; }
      .pic { position: relative; background: #0b1015; border-radius: 6px; overflow: hidden; }
      .pic img { display: block; width: 100%; height: auto; }
      .pic svg { position: absolute; inset: 0; width: 100%; height: 100%; pointer-events: none; }
      .pic rect { fill: none; stroke: #ffd866; stroke-width: 2; vector-effect: non-scaling-stroke; }
      .placeholder { padding: 2rem 1rem; color: var(--muted); }
      .facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 0.75rem; margin-top: 0.75rem; }
      meter { width: 100%; }
      dl { display: grid; grid-template-columns: auto 1fr; gap: 0.15rem 0.75rem; margin: 0; font-size: 0.9rem; }
      dt { color: var(--muted); }
      dd { margin: 0; overflow-wrap: anywhere; }
      .review { margin-top: 0.75rem; }
      .review form { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: end; margin: 0.5rem 0; }
      .review label { display: flex; flex-direction: column; font-size: 0.8rem; color: var(--muted); gap: 0.15rem; }
      .review input.note { min-width: 24rem; }
      kbd { border: 1px solid var(--border); border-radius: 4px; padding: 0 0.3rem; font-size: 0.8rem; background: var(--panel-2); }
      .pic .marker { position: absolute; inset: 0; cursor: crosshair; touch-action: none; }
      .pic rect.draft { stroke: #79c0ff; stroke-dasharray: 6 4; }
      .marking-hint { color: var(--info); }
    `,
  ];

  override willUpdate(): void {
    const verdict = this.verdict;
    if (verdict === undefined || this.loadedFor === verdict.frameId) return;
    this.loadedFor = verdict.frameId;
    this.frame = undefined;
    this.frameError = undefined;
    this.size = undefined;
    this.reviews = [];
    this.marking = false;
    this.draft = [];
    this.defectCode = '';
    this.note = '';
    this.reviewStatus = undefined;
    this.answerId = undefined;
    this.abort?.abort();
    this.abort = new AbortController();
    const url = `api/frames/${encodeURIComponent(verdict.lineId)}/${encodeURIComponent(verdict.cameraId)}/${encodeURIComponent(verdict.frameId)}?capturedAt=${encodeURIComponent(verdict.capturedAt)}`;
    getJson<{ frame: FrameEvent; reviews: Feedback[] }>(url, this.abort.signal).then(
      ({ frame, reviews }) => {
        this.frame = frame;
        this.reviews = reviews;
      },
      (err: unknown) => {
        if (!(err instanceof DOMException && err.name === 'AbortError')) this.frameError = err instanceof Error ? err.message : String(err);
      },
    );
  }

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('keydown', this.onKey);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('keydown', this.onKey);
    this.abort?.abort();
  }

  /** The review mode's keys; typing in the code or note field is text, Enter or Esc leaves it. */
  private readonly onKey = (event: KeyboardEvent): void => {
    const verdict = this.verdict;
    if (this.reviewer === undefined || verdict === undefined || event.ctrlKey || event.metaKey || event.altKey) return;
    const typing = event.composedPath().some((target) => target instanceof HTMLInputElement);
    if (typing) {
      if (event.key === 'Enter' || event.key === 'Escape') {
        event.preventDefault();
        (event.composedPath()[0] as HTMLElement).blur();
      }
      return;
    }
    const label = LABEL_KEYS[event.key];
    if (label !== undefined) {
      event.preventDefault();
      if (!LABELS_OF[verdict.verdict].includes(label)) {
        this.reviewStatus = { ok: false, text: `frame judged ${verdict.verdict}: answer ${LABELS_OF[verdict.verdict].map((l) => LABEL_TEXT[l]).join(' or ')}` };
      } else if (label === 'missed-defect') {
        this.marking = true;
        this.draft = [];
        this.reviewStatus = { ok: true, text: 'drag a rectangle around the defect on the frame, then Enter (Esc cancels)' };
      } else {
        void this.send(label);
      }
    } else if (event.key === 'Enter' && this.marking) {
      event.preventDefault();
      if (this.draft.length === 0) this.reviewStatus = { ok: false, text: 'drag a rectangle around the defect first' };
      else void this.send('missed-defect');
    } else if (event.key === 'Escape' && this.marking) {
      this.marking = false;
      this.draft = [];
      this.reviewStatus = undefined;
    } else if (event.key === 'c' || event.key === 'n') {
      event.preventDefault();
      this.renderRoot.querySelector<HTMLInputElement>(event.key === 'c' ? 'input.code' : 'input.note')?.focus();
    } else if (event.key === 'j' || event.key === ' ') {
      event.preventDefault();
      this.next();
    }
  };

  private next(): void {
    this.dispatchEvent(new CustomEvent('review-next', { detail: { frameId: this.verdict?.frameId ?? this.frameId }, bubbles: true, composed: true }));
  }

  /** Sends one answer, once (its id kept until it is taken), then asks for the next frame. */
  private async send(label: FeedbackLabel): Promise<void> {
    const verdict = this.verdict;
    const reviewer = this.reviewer;
    if (verdict === undefined || reviewer === undefined || this.sending) return;
    this.sending = true;
    this.answerId ??= crypto.randomUUID();
    const answer: FeedbackAnswer = {
      feedbackId: this.answerId,
      frameId: verdict.frameId,
      lineId: verdict.lineId,
      cameraId: verdict.cameraId,
      capturedAt: verdict.capturedAt,
      label,
      queue: this.queue,
      ...(label === 'missed-defect' ? { regions: this.draft } : {}),
      ...(this.defectCode.trim() === '' ? {} : { defectCode: this.defectCode.trim() }),
      ...(this.note.trim() === '' ? {} : { note: this.note.trim() }),
    };
    this.reviewStatus = { ok: true, text: `sending ${LABEL_TEXT[label]}…` };
    try {
      const record = await postJson<Feedback>('api/feedback', answer, reviewer.csrfToken);
      if (!this.reviews.some((r) => r.feedbackId === record.feedbackId)) this.reviews = [...this.reviews, record];
      this.answerId = undefined;
      this.marking = false;
      this.draft = [];
      this.reviewStatus = { ok: true, text: `${LABEL_TEXT[label]} recorded (revision ${record.revision})` };
      this.next();
    } catch (err) {
      this.reviewStatus = { ok: false, text: `${err instanceof Error ? err.message : String(err)} — press the key again to retry` };
    } finally {
      this.sending = false;
    }
  }

  private point(event: PointerEvent): { x: number; y: number } {
    const box = (event.currentTarget as HTMLElement).getBoundingClientRect();
    return { x: event.clientX - box.left, y: event.clientY - box.top };
  }

  private readonly onDragStart = (event: PointerEvent): void => {
    (event.currentTarget as HTMLElement).setPointerCapture(event.pointerId);
    const at = this.point(event);
    this.drag = { from: at, to: at };
  };

  private readonly onDragMove = (event: PointerEvent): void => {
    if (this.drag === undefined) return;
    this.drag = { ...this.drag, to: this.point(event) };
    this.requestUpdate();
  };

  private readonly onDragEnd = (event: PointerEvent): void => {
    const drag = this.drag;
    this.drag = undefined;
    const natural = this.frame?.image;
    if (drag === undefined || natural === undefined) return;
    const box = (event.currentTarget as HTMLElement).getBoundingClientRect();
    const region = regionOfDrag(drag.from, this.point(event), { width: box.width, height: box.height }, natural);
    if (region !== undefined) this.draft = [...this.draft, region];
  };

  /** The regions being marked, in frame pixels, over the frame. */
  private draftOutlines() {
    const natural = this.frame?.image;
    if (!this.marking || natural === undefined) return nothing;
    return html`<svg viewBox="0 0 ${natural.width} ${natural.height}" preserveAspectRatio="none" aria-hidden="true">
        ${this.draft.map((r) => svg`<rect class="draft" x=${r.x} y=${r.y} width=${r.width} height=${r.height}></rect>`)}
      </svg>
      <div class="marker" data-testid="region-marker" @pointerdown=${this.onDragStart} @pointermove=${this.onDragMove} @pointerup=${this.onDragEnd}></div>`;
  }

  private renderReview() {
    const canReview = this.reviewer !== undefined;
    return html`<section class="panel review" aria-labelledby="review-title" data-testid="review">
      <h3 id="review-title">Reviews${canReview ? html` <span class="muted">· review mode (${this.queue})</span>` : nothing}</h3>
      ${canReview
        ? html`${KEY_HINTS}
            <form @submit=${(e: Event) => e.preventDefault()}>
              <label>defect code <input class="code" name="defectCode" maxlength="32" .value=${this.defectCode} @input=${(e: Event) => (this.defectCode = (e.target as HTMLInputElement).value)} /></label>
              <label>note <input class="note" name="note" maxlength="1000" .value=${this.note} @input=${(e: Event) => (this.note = (e.target as HTMLInputElement).value)} /></label>
            </form>
            ${this.marking ? html`<p class="marking-hint">Marking a missed defect: ${this.draft.length} region${this.draft.length === 1 ? '' : 's'} drawn.</p>` : nothing}
            ${this.reviewStatus === undefined ? nothing : html`<p role="status" class=${this.reviewStatus.ok ? 'muted' : 'defect'} data-testid="review-status">${this.reviewStatus.text}</p>`}`
        : nothing}
      ${reviewsTable(this.reviews)}
    </section>`;
  }

  private outlines(regions: readonly Region[]) {
    if (this.size === undefined || regions.length === 0) return nothing;
    return html`<svg viewBox="0 0 ${this.size.width} ${this.size.height}" preserveAspectRatio="none" aria-hidden="true">
      ${regions.map((r) => svg`<rect x=${r.x} y=${r.y} width=${r.width} height=${r.height}></rect>`)}
    </svg>`;
  }

  /** Whether the frame is more than 2.5 times as wide as high (known from its event, or once the overlay loads). */
  private wide(): boolean {
    const size = this.frame?.image ?? this.size;
    return size !== undefined && size.width > 2.5 * size.height;
  }

  private readonly onOverlayLoad = (event: Event): void => {
    const img = event.target as HTMLImageElement;
    this.size = { width: img.naturalWidth, height: img.naturalHeight };
  };

  override render() {
    const v = this.verdict;
    if (v === undefined) {
      return html`<p class="panel" role="status">Frame ${this.frameId} is not among the verdicts this page holds: find it under <a href="#/history">History</a>.</p>`;
    }
    const frameImage = this.frame === undefined
      ? html`<div class="placeholder">${this.frameError ?? 'looking up the frame…'}</div>`
      : BROWSER_IMAGES.has(this.frame.image.encoding)
        ? html`<img src=${objectPath(this.frame.image)} alt="frame ${v.frameId}" data-testid="frame-image" />${this.outlines(v.regions)}${this.draftOutlines()}`
        : html`<div class="placeholder">The frame is ${this.frame.image.encoding}, which a browser cannot show.</div>`;
    const timings = Object.entries(v.timings);
    return html`<article aria-labelledby="frame-title">
      <h2 id="frame-title">Frame ${v.frameId} <span class="badge ${v.verdict}">${v.verdict === 'defect' ? 'DEFECT' : 'ok'}</span></h2>
      <p class="muted">${v.lineId} / ${v.cameraId} · seq ${v.seq} · captured ${formatDateTime(v.capturedAt)}</p>
      <div class="images ${this.wide() ? 'wide' : ''}">
        <figure><div class="pic">${frameImage}</div><figcaption>Frame</figcaption></figure>
        <figure><div class="pic"><img src=${objectPath(v.anomalyMap)} alt="anomaly map of frame ${v.frameId}" data-testid="anomaly-map" />${this.outlines(v.regions)}</div><figcaption>Anomaly map</figcaption></figure>
        <figure><div class="pic"><img src=${objectPath(v.overlay)} alt="overlay of frame ${v.frameId}" data-testid="overlay" @load=${this.onOverlayLoad} />${this.outlines(v.regions)}</div><figcaption>Overlay</figcaption></figure>
      </div>
      ${this.renderReview()}
      <div class="facts">
        <section class="panel" aria-labelledby="score-title">
          <h3 id="score-title">Score</h3>
          <p data-testid="score"><strong>${v.score.toFixed(4)}</strong> against threshold <strong>${v.threshold.toFixed(4)}</strong> (normalised ${v.normalizedScore.toFixed(3)})</p>
          <label>normalised score <meter min="0" max="1" high="0.5" value=${v.normalizedScore}></meter></label>
          <p class="muted" data-testid="calibration">threshold: ${describeCalibration(calibrationOf(v))}</p>
        </section>
        <section class="panel" aria-labelledby="model-title">
          <h3 id="model-title">Model</h3>
          <dl>
            <dt>model</dt><dd data-testid="model">${v.model.name}@${v.model.version}</dd>
            <dt>sha256</dt><dd>${v.model.sha256.slice(0, 16)}…</dd>
            <dt>worker</dt><dd>${v.workerId}</dd>
            <dt>decided</dt><dd>${formatDateTime(v.decidedAt)}</dd>
          </dl>
        </section>
        <section class="panel" aria-labelledby="timings-title">
          <h3 id="timings-title">Timings</h3>
          <table><tbody>${timings.map(([stage, ms]) => html`<tr><th scope="row">${stage}</th><td class="num">${ms.toFixed(1)} ms</td></tr>`)}</tbody></table>
        </section>
        <section class="panel" aria-labelledby="regions-title">
          <h3 id="regions-title">Regions (${v.regions.length})</h3>
          ${v.regions.length === 0
            ? html`<p class="muted">No region above the pixel threshold.</p>`
            : html`<table data-testid="regions">
                <thead><tr><th scope="col">#</th><th scope="col">x, y</th><th scope="col">size</th><th scope="col" class="num">area</th><th scope="col" class="num">max</th><th scope="col" class="num">mean</th></tr></thead>
                <tbody>${v.regions.map((r, i) => html`<tr><th scope="row">${i + 1}</th><td>${r.x}, ${r.y}</td><td>${r.width}×${r.height}</td><td class="num">${r.area}</td><td class="num">${r.maxScore.toFixed(3)}</td><td class="num">${r.meanScore.toFixed(3)}</td></tr>`)}</tbody>
              </table>`}
        </section>
      </div>
    </article>`;
  }
}
customElements.define('lw-frame-view', FrameView);

declare global {
  interface HTMLElementTagNameMap {
    'lw-frame-view': FrameView;
  }
}
