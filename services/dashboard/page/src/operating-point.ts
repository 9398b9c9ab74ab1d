import { LitElement, css, html, nothing } from 'lit';
import type { Deployment } from '@loomwatch/contracts';
import { formatRate } from '../../src/view.js';
import { postJson } from './api.js';
import { base } from './styles.js';

/** The rates offered; "" returns to each card's default. */
const RATES = ['', '0.005', '0.01', '0.02', '0.05', '0.1'];

/** For engineers: sets the false-alarm rate of the deployment, or of one line (`POST /api/rollouts/operating-point`). */
export class OperatingPointForm extends LitElement {
  static override properties = { deployments: { attribute: false }, lines: { attribute: false }, csrfToken: { attribute: false }, status: { state: true }, busy: { state: true } };
  declare deployments: Deployment[];
  declare lines: string[];
  declare csrfToken: string;
  declare status: { ok: boolean; text: string } | undefined;
  declare busy: boolean;
  static override styles = [
    base,
    css`
      form { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: end; }
      label { display: flex; flex-direction: column; font-size: 0.8rem; color: var(--muted); gap: 0.15rem; }
      .panel { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: 0.75rem; }
      p { margin: 0.5rem 0 0; font-size: 0.85rem; }
      .ok { color: var(--ok); }
      .defect { color: var(--defect); }
    `,
  ];

  constructor() {
    super();
    this.deployments = [];
    this.lines = [];
    this.csrfToken = '';
    this.status = undefined;
    this.busy = false;
  }

  private async apply(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const data = new FormData(event.target as HTMLFormElement);
    const field = (name: string): string => {
      const value = data.get(name);
      return typeof value === 'string' ? value : '';
    };
    const [rate, line, model] = [field('rate'), field('line'), field('model')];
    this.busy = true;
    try {
      const { published } = await postJson<{ published: Deployment }>(
        'api/rollouts/operating-point',
        { falseAlarmRate: rate === '' ? null : Number(rate), ...(line === '' ? {} : { line }), ...(model === '' ? {} : { model }) },
        this.csrfToken,
      );
      this.status = { ok: true, text: `published ${published.model} revision ${published.revision}` };
    } catch (err) {
      this.status = { ok: false, text: err instanceof Error ? err.message : String(err) };
    } finally {
      this.busy = false;
    }
  }

  override render() {
    if (this.deployments.length === 0) return nothing;
    return html`<section class="panel" aria-labelledby="op-title" data-testid="operating-point-form">
      <h2 id="op-title">Operating point</h2>
      <form @submit=${(e: SubmitEvent) => void this.apply(e)}>
        ${this.deployments.length > 1
          ? html`<label>model<select name="model">${this.deployments.map((d) => html`<option value=${d.model}>${d.model}</option>`)}</select></label>`
          : nothing}
        <label>false-alarm rate
          <select name="rate">${RATES.map((rate) => html`<option value=${rate}>${rate === '' ? 'card default' : formatRate(Number(rate))}</option>`)}</select>
        </label>
        <label>for
          <select name="line"><option value="">every line</option>${this.lines.map((line) => html`<option value=${line}>${line}</option>`)}</select>
        </label>
        <button type="submit" ?disabled=${this.busy}>Apply</button>
      </form>
      ${this.status === undefined ? nothing : html`<p role="status" class=${this.status.ok ? 'ok' : 'defect'}>${this.status.text}</p>`}
    </section>`;
  }
}
customElements.define('lw-operating-point', OperatingPointForm);

declare global {
  interface HTMLElementTagNameMap {
    'lw-operating-point': OperatingPointForm;
  }
}
