import { LitElement, css, html, nothing } from 'lit';
import type { VerdictView } from '../../src/view.js';
import { getJson } from './api.js';
import { frameHash } from './frame-hash.js';
import { base, formatDateTime } from './styles.js';

export interface Filters {
  line: string;
  camera: string;
  verdict: '' | 'ok' | 'defect';
}

interface Page {
  items: VerdictView[];
  cursor?: string;
  scanned: number;
}

/** A `datetime-local` value for a time, in the browser's zone. */
function localInput(date: Date): string {
  const shifted = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return shifted.toISOString().slice(0, 16);
}

/** Past verdicts in a time range, newest first, paged back with the server's cursor. */
export class HistoryView extends LitElement {
  static override properties = {
    filters: { attribute: false },
    from: { state: true },
    to: { state: true },
    items: { state: true },
    cursor: { state: true },
    loading: { state: true },
    error: { state: true },
    searched: { state: true },
  };
  declare filters: Filters;
  declare from: string;
  declare to: string;
  declare items: VerdictView[];
  declare cursor: string | undefined;
  declare loading: boolean;
  declare error: string | undefined;
  declare searched: boolean;

  static override styles = [
    base,
    css`
      :host { display: block; }
      form { display: flex; flex-wrap: wrap; gap: 0.75rem; align-items: end; margin-bottom: 0.75rem; }
      label { display: flex; flex-direction: column; gap: 0.2rem; font-size: 0.85rem; color: var(--muted); }
      .more { margin-top: 0.75rem; display: flex; gap: 0.75rem; align-items: center; }
    `,
  ];

  constructor() {
    super();
    this.filters = { line: '', camera: '', verdict: '' };
    const now = new Date();
    this.from = localInput(new Date(now.getTime() - 60 * 60_000));
    this.to = '';
    this.items = [];
    this.cursor = undefined;
    this.loading = false;
    this.error = undefined;
    this.searched = false;
  }

  private query(cursor: string | undefined): string {
    const params = new URLSearchParams({ limit: '50' });
    if (this.from !== '') params.set('from', new Date(this.from).toISOString());
    if (this.to !== '') params.set('to', new Date(this.to).toISOString());
    if (this.filters.line !== '') params.set('line', this.filters.line);
    if (this.filters.camera !== '') params.set('camera', this.filters.camera);
    if (this.filters.verdict !== '') params.set('verdict', this.filters.verdict);
    if (cursor !== undefined) params.set('cursor', cursor);
    return `api/verdicts?${params.toString()}`;
  }

  private async load(more: boolean): Promise<void> {
    this.loading = true;
    this.error = undefined;
    try {
      const page = await getJson<Page>(this.query(more ? this.cursor : undefined));
      this.items = more ? [...this.items, ...page.items] : page.items;
      this.cursor = page.cursor;
      this.searched = true;
      this.dispatchEvent(new CustomEvent<VerdictView[]>('verdicts-loaded', { detail: page.items, bubbles: true, composed: true }));
    } catch (err) {
      this.error = err instanceof Error ? err.message : String(err);
    } finally {
      this.loading = false;
    }
  }

  private readonly onSubmit = (event: SubmitEvent): void => {
    event.preventDefault();
    void this.load(false);
  };

  override render() {
    const f = this.filters;
    return html`<section aria-labelledby="history-title">
      <h2 id="history-title">Past verdicts</h2>
      <form @submit=${this.onSubmit}>
        <label>from <input type="datetime-local" .value=${this.from} @input=${(e: Event) => (this.from = (e.target as HTMLInputElement).value)} /></label>
        <label>to (empty: now) <input type="datetime-local" .value=${this.to} @input=${(e: Event) => (this.to = (e.target as HTMLInputElement).value)} /></label>
        <span class="muted">filters: line ${f.line || 'any'}, camera ${f.camera || 'any'}, verdict ${f.verdict || 'any'}</span>
        <button type="submit" ?disabled=${this.loading}>Search</button>
      </form>
      ${this.error === undefined ? nothing : html`<p class="defect" role="alert">${this.error}</p>`}
      ${this.searched && this.items.length === 0 ? html`<p class="muted" role="status">No verdict in this range.</p>` : nothing}
      ${this.items.length === 0
        ? nothing
        : html`<table data-testid="history">
            <thead><tr><th scope="col">decided</th><th scope="col">line / camera</th><th scope="col">frame</th><th scope="col">verdict</th><th scope="col" class="num">score</th><th scope="col" class="num">threshold</th><th scope="col">model</th></tr></thead>
            <tbody>
              ${this.items.map(
                (v) => html`<tr>
                  <td>${formatDateTime(v.decidedAt)}</td>
                  <td>${v.lineId} / ${v.cameraId}</td>
                  <td><a href=${frameHash(v)}>${v.frameId}</a></td>
                  <td><span class="badge ${v.verdict}">${v.verdict}</span></td>
                  <td class="num">${v.score.toFixed(3)}</td>
                  <td class="num">${v.threshold.toFixed(3)}</td>
                  <td>${v.model.name}@${v.model.version}</td>
                </tr>`,
              )}
            </tbody>
          </table>`}
      <div class="more">
        ${this.cursor === undefined
          ? this.searched && this.items.length > 0
            ? html`<span class="muted">The start of the range.</span>`
            : nothing
          : html`<button type="button" @click=${() => void this.load(true)} ?disabled=${this.loading}>Older verdicts</button>`}
        ${this.loading ? html`<span role="status">loading…</span>` : nothing}
      </div>
    </section>`;
  }
}
customElements.define('lw-history', HistoryView);

declare global {
  interface HTMLElementTagNameMap {
    'lw-history': HistoryView;
  }
}
