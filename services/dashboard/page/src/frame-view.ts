import { LitElement, css, html, nothing, svg } from 'lit';
import type { FrameEvent, Region } from '@loomwatch/contracts';
import { objectPath } from '../../src/object-path.js';
import { calibrationOf, describeCalibration, type VerdictView } from '../../src/view.js';
import { getJson } from './api.js';
import { base, formatDateTime } from './styles.js';

const BROWSER_IMAGES = new Set(['png', 'jpeg', 'webp']);

/** One frame: the frame, its anomaly map and its overlay side by side with the regions outlined; the regions, score, model and timings. */
export class FrameView extends LitElement {
  static override properties = {
    verdict: { attribute: false },
    frameId: { type: String },
    frame: { state: true },
    frameError: { state: true },
    size: { state: true },
  };
  declare verdict: VerdictView | undefined;
  declare frameId: string;
  declare frame: FrameEvent | undefined;
  declare frameError: string | undefined;
  /** The overlay's pixel size once loaded: the regions' coordinate space. */
  declare size: { width: number; height: number } | undefined;
  private loadedFor: string | undefined;
  private abort: AbortController | undefined;

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
    `,
  ];

  override willUpdate(): void {
    const verdict = this.verdict;
    if (verdict === undefined || this.loadedFor === verdict.frameId) return;
    this.loadedFor = verdict.frameId;
    this.frame = undefined;
    this.frameError = undefined;
    this.size = undefined;
    this.abort?.abort();
    this.abort = new AbortController();
    const url = `api/frames/${encodeURIComponent(verdict.lineId)}/${encodeURIComponent(verdict.cameraId)}/${encodeURIComponent(verdict.frameId)}?capturedAt=${encodeURIComponent(verdict.capturedAt)}`;
    getJson<{ frame: FrameEvent }>(url, this.abort.signal).then(
      ({ frame }) => (this.frame = frame),
      (err: unknown) => {
        if (!(err instanceof DOMException && err.name === 'AbortError')) this.frameError = err instanceof Error ? err.message : String(err);
      },
    );
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.abort?.abort();
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
        ? html`<img src=${objectPath(this.frame.image)} alt="frame ${v.frameId}" data-testid="frame-image" />${this.outlines(v.regions)}`
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
