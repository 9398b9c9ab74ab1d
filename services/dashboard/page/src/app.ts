import { LitElement, css, html, nothing } from 'lit';
import type { Alert, DriftEvent } from '@loomwatch/contracts';
import { cameraKey, formatRate, latestVerdict, openAlerts, servingOf, type CameraView, type VerdictView } from '../../src/view.js';
import type { Filters } from './history-view.js';
import { getJson, postJson, signInAgain, type Me } from './api.js';
import { frameHash } from './frame-hash.js';
import type { QualityReport } from './quality.js';
import type { QueueAnswer, QueueItem } from '../../src/review-item.js';
import { LiveView } from './live.js';
import { base, formatTime } from './styles.js';
import './frame-view.js';
import './history-view.js';
import './model-updates.js';
import './operating-point.js';
import './panels.js';
import './quality.js';
import './tile.js';

type FrameRoute = {
  view: 'frame';
  lineId: string;
  cameraId: string;
  frameId: string;
  /** About when it was decided (epoch ms), to find it on the topic. */
  at?: number;
};
type Route = { view: 'lines' } | { view: 'history' } | FrameRoute;

/** How far around a frame's decision time its verdict is looked for. */
const LOOKUP_WINDOW_MS = 10 * 60_000;
/** How often the quality panel and badges are read again. */
const QUALITY_REFRESH_MS = 10_000;

function routeOf(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').map((part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  });
  if (parts[0] === 'history') return { view: 'history' };
  if (parts[0] === 'frame' && (parts.length === 4 || parts.length === 5)) {
    const at = Number(parts[4]);
    return { view: 'frame', lineId: parts[1] ?? '', cameraId: parts[2] ?? '', frameId: parts[3] ?? '', ...(Number.isFinite(at) && at > 0 ? { at } : {}) };
  }
  return { view: 'lines' };
}

/** The dashboard: lines × cameras with their latest verdicts, the side panels, a frame view and the history. */
export class App extends LitElement {
  static override properties = { route: { state: true }, filters: { state: true }, tick: { state: true }, lookup: { state: true }, me: { state: true }, queueStatus: { state: true }, quality: { state: true } };
  /** `GET /api/quality`, refreshed every few seconds and after each review. */
  declare quality: QualityReport | undefined;
  /** What the review queue last said when it had no frame, or failed. */
  declare queueStatus: string | undefined;
  /** Who is signed in; undefined until `/api/me` answers. */
  declare me: Me | undefined;
  declare route: Route;
  declare filters: Filters;
  /** Bumped on every change of the live view, to re-render. */
  declare tick: number;
  /** A verdict being looked for on the topic, for a frame view the page holds no verdict of. */
  declare lookup: { frameId: string; error?: string } | undefined;
  private readonly live = new LiveView();
  /** Verdicts the history view loaded, so their frame view opens too. */
  private readonly remembered = new Map<string, VerdictView>();
  /** Why each frame the queue offered is in it: the answer records it. */
  private readonly queued = new Map<string, QueueItem['queue']>();
  /** Frames passed over with j/Space in this tab: the queue offers them no more. */
  private readonly skipped = new Set<string>();
  private readonly onHash = () => {
    this.route = routeOf(location.hash);
    // Move focus to the new view's heading, as a page load would.
    void this.updateComplete.then(() => this.renderRoot.querySelector<HTMLElement>('main')?.focus());
  };

  static override styles = [
    base,
    css`
      :host { display: block; min-height: 100vh; background: var(--bg); }
      header.top { display: flex; flex-wrap: wrap; gap: 0.75rem 1.5rem; align-items: center; padding: 0.6rem 1rem; border-bottom: 1px solid var(--border); background: var(--panel); }
      header.top h1 { font-size: 1.15rem; margin: 0; }
      nav { display: flex; gap: 1rem; }
      nav a[aria-current='page'] { font-weight: 700; color: var(--text); }
      .status { margin-left: auto; font-size: 0.85rem; }
      .who { display: flex; gap: 0.5rem; align-items: center; font-size: 0.85rem; }
      .filters { display: flex; flex-wrap: wrap; gap: 0.75rem; padding: 0.6rem 1rem; align-items: end; }
      .filters label { display: flex; flex-direction: column; font-size: 0.8rem; color: var(--muted); gap: 0.15rem; }
      main { padding: 0 1rem 1rem; }
      main[tabindex]:focus, main[tabindex]:focus-visible { outline: none; }
      .layout { display: grid; grid-template-columns: minmax(0, 1fr) 420px; gap: 1rem; align-items: start; }
      .side { display: flex; flex-direction: column; gap: 1rem; }
      .line { margin-bottom: 1rem; }
      .line > header { display: flex; gap: 1rem; align-items: baseline; flex-wrap: wrap; margin-bottom: 0.4rem; }
      .line h2 { margin: 0; }
      .cameras { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 0.75rem; }
      @media (max-width: 1180px) {
        .layout { grid-template-columns: minmax(0, 1fr); }
      }
    `,
  ];

  constructor() {
    super();
    this.route = routeOf(location.hash);
    this.filters = { line: '', camera: '', verdict: '' };
    this.tick = 0;
    this.lookup = undefined;
    this.me = undefined;
    this.queueStatus = undefined;
    this.quality = undefined;
    this.live.addEventListener('change', () => (this.tick += 1));
  }

  private qualityTimer: ReturnType<typeof setInterval> | undefined;

  private refreshQuality(): void {
    getJson<QualityReport>('api/quality').then(
      (report) => (this.quality = report),
      () => undefined,
    );
  }

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('hashchange', this.onHash);
    this.live.connect();
    this.refreshQuality();
    this.qualityTimer = setInterval(() => this.refreshQuality(), QUALITY_REFRESH_MS);
    getJson<Me>('api/me').then(
      (me) => (this.me = me),
      (err: unknown) => {
        if ((err as { problem?: { status: number } }).problem?.status === 401) signInAgain();
      },
    );
  }

  private async signOut(): Promise<void> {
    if (this.me === undefined) return;
    const { redirectTo } = await postJson<{ redirectTo: string }>('auth/logout', {}, this.me.csrfToken);
    location.assign(redirectTo);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('hashchange', this.onHash);
    clearInterval(this.qualityTimer);
    this.live.close();
  }

  private cameras(): CameraView[] {
    return Object.values(this.live.state.cameras).sort((a, b) => a.lineId.localeCompare(b.lineId) || a.cameraId.localeCompare(b.cameraId));
  }

  private lines(): string[] {
    return [...new Set(this.cameras().map((c) => c.lineId))];
  }

  private setFilter(name: keyof Filters, value: string): void {
    this.filters = { ...this.filters, [name]: value };
  }

  private renderFilters() {
    const lines = this.lines();
    const cameras = [...new Set(this.cameras().filter((c) => this.filters.line === '' || c.lineId === this.filters.line).map((c) => c.cameraId))];
    return html`<form class="filters" aria-label="filters" @submit=${(e: Event) => e.preventDefault()}>
      <label>line
        <select name="line" .value=${this.filters.line} @change=${(e: Event) => this.setFilter('line', (e.target as HTMLSelectElement).value)}>
          <option value="">all lines</option>
          ${lines.map((line) => html`<option value=${line} ?selected=${line === this.filters.line}>${line}</option>`)}
        </select>
      </label>
      <label>camera
        <select name="camera" .value=${this.filters.camera} @change=${(e: Event) => this.setFilter('camera', (e.target as HTMLSelectElement).value)}>
          <option value="">all cameras</option>
          ${cameras.map((camera) => html`<option value=${camera} ?selected=${camera === this.filters.camera}>${camera}</option>`)}
        </select>
      </label>
      <label>latest verdict
        <select name="verdict" .value=${this.filters.verdict} @change=${(e: Event) => this.setFilter('verdict', (e.target as HTMLSelectElement).value)}>
          <option value="">any</option>
          <option value="ok" ?selected=${this.filters.verdict === 'ok'}>ok</option>
          <option value="defect" ?selected=${this.filters.verdict === 'defect'}>defect</option>
        </select>
      </label>
    </form>`;
  }

  private alertsOf(camera: CameraView): Alert[] {
    return openAlerts(this.live.state).filter((a) => a.lineId === camera.lineId && (a.cameraId === undefined || a.cameraId === camera.cameraId));
  }

  private driftOf(camera: CameraView): DriftEvent[] {
    return Object.values(this.live.state.drift).filter((d) => d.lineId === camera.lineId && d.cameraId === camera.cameraId);
  }

  private renderLines() {
    const { line, camera, verdict } = this.filters;
    const shown = this.cameras().filter(
      (c) => (line === '' || c.lineId === line) && (camera === '' || c.cameraId === camera) && (verdict === '' || latestVerdict(c).verdict === verdict),
    );
    const lines = [...new Set(shown.map((c) => c.lineId))];
    const state = this.live.state;
    return html`<div class="layout">
      <div>
        ${lines.length === 0
          ? html`<p class="panel muted" role="status">${this.live.connection === 'live' ? (this.cameras().length === 0 ? 'No verdict yet: waiting for the first frames.' : 'No camera matches the filters.') : 'Connecting…'}</p>`
          : lines.map((lineId) => {
              const serving = servingOf(state, lineId);
              return html`<section class="line" aria-labelledby="line-${lineId}" data-line=${lineId}>
                <header>
                  <h2 id="line-${lineId}">${lineId}</h2>
                  ${serving.map(
                    (s) => html`<span class="muted" data-testid="line-serving">${s.model}: production ${s.production}${s.canary === undefined ? '' : ` · canary ${s.canary.version}${s.canary.wholeLine ? '' : ` on ${s.canary.cameras.join(', ')}`}`}${
                      Object.keys(s.fabrics).length === 0 ? '' : ` · fabrics ${Object.entries(s.fabrics).map(([f, v]) => `${f}→${v}`).join(', ')}`
                    }${s.shadow === undefined ? '' : ` · shadow ${s.shadow.version}`}${s.falseAlarmRate === undefined ? '' : ` · ${formatRate(s.falseAlarmRate)} false alarms`}</span>`,
                  )}
                </header>
                <div class="cameras">
                  ${shown
                    .filter((c) => c.lineId === lineId)
                    .map((c) => html`<lw-camera-tile .camera=${c} .drift=${this.driftOf(c)} .alerts=${this.alertsOf(c)} .quality=${this.quality?.cameras.find((q) => q.group.lineId === c.lineId && q.group.cameraId === c.cameraId)} capacity=${this.live.limits.verdictsPerCamera}></lw-camera-tile>`)}
                </div>
              </section>`;
            })}
      </div>
      <div class="side">
        <lw-alerts .state=${state}></lw-alerts>
        <lw-quality .report=${this.quality}></lw-quality>
        <lw-drift .events=${Object.values(state.drift)}></lw-drift>
        <lw-serving .deployments=${Object.values(state.deployments)}></lw-serving>
        ${this.me?.role === 'engineer'
          ? html`<lw-operating-point .deployments=${Object.values(state.deployments)} .lines=${this.lines()} .csrfToken=${this.me.csrfToken}></lw-operating-point>`
          : nothing}
        <lw-model-updates
          .retrains=${state.retrains}
          .models=${Object.keys(state.deployments).sort()}
          .csrfToken=${this.me?.role === 'engineer' ? this.me.csrfToken : ''}
        ></lw-model-updates>
        <lw-dead-letters .tallies=${Object.values(state.deadLetters)}></lw-dead-letters>
        <lw-lag .lag=${state.lag}></lw-lag>
      </div>
    </div>`;
  }

  override willUpdate(): void {
    const route = this.route;
    if (route.view !== 'frame') return;
    const camera = this.live.state.cameras[cameraKey(route.lineId, route.cameraId)];
    // Kept once opened: the camera's latest moves on while the frame is looked at.
    if (camera?.latest.frameId === route.frameId) this.remembered.set(route.frameId, camera.latest);
    if (!this.remembered.has(route.frameId) && route.at !== undefined && this.lookup?.frameId !== route.frameId) void this.lookUp(route, route.at);
  }

  /** Whether the signed-in person may review (operators and engineers). */
  private canReview(): boolean {
    return this.me !== undefined && this.me.role !== 'viewer';
  }

  /** Opens the queue's next frame (after `done`, answered or passed over), or says the queue is empty. */
  private async nextInQueue(done?: string): Promise<void> {
    // An answered frame leaves the queue on the server too; skipping it here covers the moment before.
    if (done !== undefined) this.skipped.add(done);
    const params = new URLSearchParams();
    const skip = [...this.skipped].slice(-200);
    if (skip.length > 0) params.set('skip', skip.join(','));
    try {
      const { next, waiting } = await getJson<QueueAnswer>(`api/review/next?${params.toString()}`);
      if (next === undefined) {
        this.queueStatus = 'The review queue is empty: every flagged, near-threshold and sampled frame on the page is reviewed.';
        location.hash = '#/';
        return;
      }
      this.queueStatus = `${waiting.flagged} flagged · ${waiting['near-threshold']} near the threshold · ${waiting.sample} sampled waiting`;
      this.queued.set(next.frameId, next.queue);
      location.hash = frameHash(next);
    } catch (err) {
      this.queueStatus = err instanceof Error ? err.message : String(err);
    }
  }

  private readonly onReviewNext = (event: CustomEvent<{ frameId: string }>): void => {
    this.refreshQuality();
    void this.nextInQueue(event.detail.frameId);
  };

  private renderFrame(route: FrameRoute) {
    const verdict = this.remembered.get(route.frameId);
    const looking = verdict === undefined && this.lookup?.frameId === route.frameId;
    return html`<p><a href="#/">← all lines</a>${this.queueStatus === undefined ? nothing : html` <span class="muted" data-testid="queue-status">· ${this.queueStatus}</span>`}</p>
      ${looking && this.lookup?.error !== undefined ? html`<p class="panel defect" role="alert">${this.lookup.error}</p>` : nothing}
      ${looking && this.lookup?.error === undefined
        ? html`<p class="panel muted" role="status">Looking up frame ${route.frameId}…</p>`
        : html`<lw-frame-view .verdict=${verdict} frameId=${route.frameId} .reviewer=${this.canReview() ? this.me : undefined} queue=${this.queued.get(route.frameId) ?? 'browsing'} @review-next=${this.onReviewNext}></lw-frame-view>`}`;
  }

  /** Finds a verdict the page does not hold among its camera's verdicts around `at`. */
  private async lookUp(route: FrameRoute, at: number): Promise<void> {
    this.lookup = { frameId: route.frameId };
    const params = new URLSearchParams({
      line: route.lineId,
      camera: route.cameraId,
      from: String(Math.max(0, at - LOOKUP_WINDOW_MS)),
      to: String(at + LOOKUP_WINDOW_MS),
      limit: '200',
    });
    try {
      for (let pages = 0; pages < 10; pages++) {
        const page = await getJson<{ items: VerdictView[]; cursor?: string }>(`api/verdicts?${params.toString()}`);
        const found = page.items.find((v) => v.frameId === route.frameId);
        if (found !== undefined) {
          this.remembered.set(found.frameId, found);
          this.lookup = undefined;
          return;
        }
        if (page.cursor === undefined) break;
        params.set('cursor', page.cursor);
      }
      this.lookup = { frameId: route.frameId, error: `No verdict of frame ${route.frameId} on the topic around that time: it may have expired; look under History.` };
    } catch (err) {
      this.lookup = { frameId: route.frameId, error: err instanceof Error ? err.message : String(err) };
    }
  }

  private readonly remember = (event: CustomEvent<VerdictView[]>): void => {
    for (const verdict of event.detail) this.remembered.set(verdict.frameId, verdict);
    // Bounded: the oldest remembered go first.
    for (const key of this.remembered.keys()) {
      if (this.remembered.size <= 1000) break;
      this.remembered.delete(key);
    }
  };

  override render() {
    const route = this.route;
    const connection = this.live.connection;
    const lag = this.live.state.lag;
    return html`<header class="top">
        <h1>Loomwatch</h1>
        <nav aria-label="views">
          <a href="#/" aria-current=${route.view === 'lines' ? 'page' : 'false'}>Lines</a>
          <a href="#/history" aria-current=${route.view === 'history' ? 'page' : 'false'}>History</a>
          ${this.canReview() ? html`<button type="button" data-testid="start-review" @click=${() => void this.nextInQueue()}>Review queue</button>` : nothing}
        </nav>
        <span class="status" role="status" aria-live="polite" data-testid="connection">
          <span class="badge ${connection === 'live' ? 'ok' : 'warning'}">${connection}</span>
          ${this.live.updatedAt === undefined ? nothing : html`<span class="muted">updated ${formatTime(this.live.updatedAt.toISOString())}</span>`}
          ${lag === undefined ? nothing : html`<span class="muted">· lag ${lag.total}</span>`}
        </span>
        ${this.me === undefined
          ? nothing
          : html`<span class="who" data-testid="signed-in"><span><strong>${this.me.name}</strong> <span class="muted">${this.me.role}</span></span>${
              this.me.authMode === 'oidc' ? html`<button type="button" @click=${() => void this.signOut()}>Sign out</button>` : nothing
            }</span>`}
      </header>
      ${route.view === 'frame' ? nothing : this.renderFilters()}
      <main tabindex="-1" @verdicts-loaded=${this.remember}>
        ${route.view === 'lines' ? this.renderLines() : route.view === 'history' ? html`<lw-history .filters=${this.filters}></lw-history>` : this.renderFrame(route)}
      </main>`;
  }
}
customElements.define('lw-app', App);

declare global {
  interface HTMLElementTagNameMap {
    'lw-app': App;
  }
}
